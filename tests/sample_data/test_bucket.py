"""sample_data.bucket: every table of the specs has sample data a local run loads, and the gate says which
table lacks it, with a fix that works as printed."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess

import pytest
import yaml

import repository
from lakehouse import layout
from sample_data.bucket import (
    LOCAL_SAMPLE_DAYS,
    SAMPLE_BUCKET,
    SampleDataError,
    committed_files,
    hudi_tables,
    local_sample,
    problems,
    redshift_spec,
    sample_files,
)

pytestmark = pytest.mark.dag_gate(rank=1)
# A Redshift table the shipped spec does not have, whatever tables it gains.
NEW = next(
    name
    for name in (f"probe_review{n}" for n in range(100))
    if name not in {t.name for t in redshift_spec().tables}
)


def test_every_table_of_the_specs_has_sample_data():
    found = problems()
    assert found == [], "\n".join(found)


def test_local_sample_days_are_days_the_dags_run_for():
    from lakehouse.defaults import START_DATE

    sample = local_sample()
    assert sample.start == START_DATE.date()
    assert tuple(sample.increments) == LOCAL_SAMPLE_DAYS == ("2024-03-01", "2024-03-02")


def test_hudi_sources_have_committed_avro_files():
    keys = committed_files()
    for table in hudi_tables():
        assert [
            key for key in keys if key.startswith(table.source_path) and key.endswith(".avro")
        ], table.name


# A copy of the repository's specs, SQL and sample folder, to add tables to


@pytest.fixture
def repo(tmp_path):
    """(dags, sql, sample folder): copies of the specs, the DDL and the committed sample files."""
    dags, sql, folder = tmp_path / "dags", tmp_path / "sql", tmp_path / "sample"
    for spec_folder in ("redshift", "hudi"):
        shutil.copytree(repository.DAGS / spec_folder, dags / spec_folder)
    shutil.copytree(repository.SQL, sql)
    shutil.copytree(SAMPLE_BUCKET, folder)
    return dags, sql, folder


def add_redshift_table(dags, sql, name: str, event_time: str | None = None) -> None:
    columns = "    reviewid INTEGER NOT NULL,\n    venueid SMALLINT,\n    reviewtime TIMESTAMP\n"
    (sql / "redshift" / "ddl" / f"{name}.sql").write_text(
        f"CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{name} (\n{columns})\n"
    )
    spec = dags / "redshift" / "tables.yaml"
    document = yaml.safe_load(spec.read_text())
    entry = {"name": name, "key": "reviewid", "ddl": f"redshift/ddl/{name}.sql"}
    document["tables"].append({**entry, **({"event_time": event_time} if event_time else {})})
    spec.write_text(yaml.safe_dump(document, sort_keys=False))


def run_fix(message: str, rows: str, cwd) -> None:
    """Runs the message's 'Fix:' command as printed in `cwd` (a copy of the repository's layout), ROWS.txt /
    ROWS.jsonl holding `rows`; tools/venv.sh runs this checkout's venv."""
    command = message.split("Fix: ", 1)[1].split(" (ROWS:", 1)[0]
    (cwd / "ROWS.txt").write_text(rows)
    (cwd / "ROWS.jsonl").write_text(rows)
    env = {**os.environ, "ROOT": str(repository.ROOT)}
    subprocess.run(command, shell=True, cwd=cwd, check=True, env=env, capture_output=True)


def test_a_new_table_without_sample_data_is_named_with_its_prefix_and_a_fix_that_works(repo, tmp_path):
    dags, sql, folder = repo
    add_redshift_table(dags, sql, NEW)
    (message,) = problems(dags, sql, folder)
    assert message.startswith(f"table '{NEW}' (dags/redshift/tables.yaml): no sample data under ")
    assert layout.full_prefix(NEW) in message
    assert f"gzip -n < ROWS.txt > {folder}/{layout.full_key(NEW)}" in message
    run_fix(message, "1|7|2024-01-02 10:00:00\n2|8|2024-01-03 11:30:00\n", tmp_path)
    assert problems(dags, sql, folder) == []


def test_an_incremental_table_needs_every_sample_day_and_one_missing_day_is_named(repo, tmp_path):
    dags, sql, folder = repo
    add_redshift_table(dags, sql, NEW, event_time="reviewtime")
    first, second = LOCAL_SAMPLE_DAYS
    for key in [layout.full_key(NEW), layout.incremental_key(NEW, first)]:
        (folder / key).parent.mkdir(parents=True)
        (folder / key).write_bytes(gzip.compress(b"1|7|2024-01-02 10:00:00\n", mtime=0))
    (message,) = problems(dags, sql, folder)
    assert f"no sample data under {layout.incremental_prefix(NEW, second)}" in message
    run_fix(message, "2|8|2024-03-02 09:00:00\n", tmp_path)
    assert problems(dags, sql, folder) == []


@pytest.mark.parametrize(
    "content, problem",
    [
        (gzip.compress(b"1|7\n", mtime=0), f"line 1 has 2 fields, table '{NEW}' has 3 columns"),
        (gzip.compress(b"1|7|2024-01-02 10:00:00\n2|7|x|y\n", mtime=0), "line 2 has 4 fields"),
        (b"1|7|2024-01-02 10:00:00\n", "not a gzip text file"),
        (gzip.compress(b"", mtime=0), "no rows"),
    ],
)
def test_a_sample_file_copy_could_not_load_is_named(repo, content, problem):
    dags, sql, folder = repo
    add_redshift_table(dags, sql, NEW)
    path = folder / layout.full_key(NEW)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    (message,) = problems(dags, sql, folder)
    assert message.startswith(f"{path}: ") and problem in message and "Fix:" in message


def test_a_sample_file_no_table_reads_is_named(repo):
    dags, sql, folder = repo
    stray = folder / "raw" / "tickit" / "venu" / "venu_pipe.txt.gz"  # a misspelt table folder
    stray.parent.mkdir(parents=True)
    stray.write_bytes(gzip.compress(b"1\n", mtime=0))
    (message,) = problems(dags, sql, folder)
    assert message.startswith(f"{stray}: no table reads raw/tickit/venu/venu_pipe.txt.gz. Fix: move it")


def test_a_hudi_table_without_sample_data_gets_the_avro_writer_command_that_works(repo, tmp_path):
    dags, sql, folder = repo
    spec = dags / "hudi" / "tables.yaml"
    document = yaml.safe_load(spec.read_text())
    names = {table["name"] for table in document["tables"]}
    new = next(name for name in (f"probe_painters{n}" for n in range(100)) if name not in names)
    painters = {**document["tables"][0], "name": new}
    painters.update(source_path=f"kafka/topics/moma.public.{new}/", target_path=f"hudi/moma/{new}/")
    document["tables"].append(painters)
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    (message,) = problems(dags, sql, folder)
    assert message.startswith(f"table '{new}' (dags/hudi/tables.yaml): no sample data under kafka/topics/")
    assert "python -m sample_data.avro dags/hudi/schemas/artists.avsc ROWS.jsonl " in message
    row = {"artist_id": 9, "nationality": "Dutch", "__source_ts_ms": 1709251200000}
    checkout = tmp_path / "checkout"  # where the command runs: the repository's tools/ and dags/
    checkout.mkdir()
    (checkout / "tools").symlink_to(repository.TOOLS)
    (checkout / "dags").symlink_to(repository.DAGS)
    run_fix(message, json.dumps(row) + "\n", checkout)
    assert problems(dags, sql, folder) == []


def test_an_avro_file_that_does_not_match_its_schema_is_named(repo):
    dags, sql, folder = repo
    artists = next(t for t in hudi_tables() if t.name == "artists")
    (path,) = [folder / key for key in committed_files(folder) if key.startswith(artists.source_path)]
    artworks = next(folder / key for key in committed_files(folder) if "artworks" in key)
    shutil.copy(artworks, path)  # an artworks file in the artists topic
    (message,) = problems(dags, sql, folder)
    assert message.startswith(f"{path}: written with another schema than {dags}/hudi/schemas/artists.avsc")


def test_sample_files_are_the_generated_and_the_committed_ones(tmp_path):
    files = sample_files(tmp_path / "out", local_sample())
    committed = committed_files()
    assert committed and set(committed) <= set(files)
    assert layout.full_key("sales") in files and files[layout.full_key("sales")].parent.is_relative_to(
        tmp_path
    )
    assert {table.name for table in redshift_spec().tables} <= {
        key.split("/")[2] for key in files if "/" in key
    }


def test_a_committed_file_the_generator_also_writes_is_refused(tmp_path):
    folder = tmp_path / "sample"
    clash = folder / layout.full_key("sales")
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"x")
    with pytest.raises(
        SampleDataError, match=r"sales_pipe.txt.gz: sample_data.tickit generates .*Fix: delete"
    ):
        sample_files(tmp_path / "out", local_sample(), folder)
