"""gate.affected: the DAGs a change affects, or every DAG when the record cannot say."""

from __future__ import annotations

import json

import pytest

from gate import inventory
from gate.affected import EVERY_DAG, MAX_DAGS, affected, main

LISTED = inventory.read_all()


@pytest.fixture(scope="module")
def reads(loaded):
    """The record the session's parse of dags/ wrote (gate.loader.write_reads)."""
    from gate.loader import READS_FILE

    return json.loads(READS_FILE.read_text())


def dag_files() -> set[str]:
    return {f"dags/{file}" for file in LISTED.values()}


def test_the_parse_records_what_each_dag_file_read(reads):
    assert set(reads) == dag_files()
    assert "sql/redshift/ddl/event.sql" in reads["dags/redshift__01_create_tables.py"]
    assert "dags/hudi/tables.yaml" in reads["dags/hudi__01_initial_load.py"]
    assert not [path for files in reads.values() for path in files if not path.startswith(("dags/", "sql/"))]


def test_a_dag_file_or_a_file_it_reads_affects_only_the_dags_that_read_it(reads):
    present = dag_files()
    assert affected(["dags/redshift__01_create_tables.py"], reads, present)[0] == [
        "redshift__01_create_tables"
    ]
    assert affected(["sql/redshift/ddl/schema.sql"], reads, present)[0] == ["redshift__01_create_tables"]
    # A table's DDL is read by every DAG that loads the Redshift table spec (it checks the columns), whatever
    # DAGs are added that read the spec too.
    redshift_spec_dags = spec_readers(reads, "dags/redshift/tables.yaml")
    assert {
        "datalake__01_tickit_refine",
        "redshift__01_create_tables",
        "redshift__02_initial_load",
        "redshift__03_incremental_load",
        "redshift__04_unload_sales_by_category",
    } <= set(redshift_spec_dags)
    assert affected(["sql/redshift/ddl/event.sql"], reads, present)[0] == redshift_spec_dags
    hudi_spec_dags = spec_readers(reads, "dags/hudi/tables.yaml")
    assert {"hudi__01_initial_load", "hudi__02_incremental_upsert"} <= set(hudi_spec_dags)
    assert affected(["dags/hudi/tables.yaml"], reads, present)[0] == hudi_spec_dags


def spec_readers(reads: dict[str, list[str]], spec: str) -> list[str]:
    """The DAG ids whose file read `spec` when parsed, in order."""
    by_file = {f"dags/{file}": dag_id for dag_id, file in LISTED.items()}
    return sorted(by_file[file] for file, files in reads.items() if spec in files)


@pytest.mark.parametrize(
    "changed, why",
    [
        (["plugins/lakehouse/redshift.py"], "plugins/lakehouse/redshift.py is not a DAG"),
        (["sql/redshift/ddl/event.sql", "tools/gate/rules.py"], "tools/gate/rules.py is not a DAG"),
        (["sql/redshift/ddl/new_table.sql"], "no DAG is recorded reading sql/redshift/ddl/new_table.sql"),
        ([], "no file changed"),
    ],
)
def test_what_the_record_cannot_place_tests_every_dag(reads, changed, why):
    dags, reason = affected(changed, reads, dag_files())
    assert dags is None and reason.startswith(why), reason


def test_a_deleted_dag_file_or_a_record_of_a_few_dags_tests_every_dag(reads):
    assert affected(["dags/redshift__01_create_tables.py"], reads, set())[0] is None
    partial = {"dags/redshift__01_create_tables.py": reads["dags/redshift__01_create_tables.py"]}
    dags, why = affected(["sql/redshift/ddl/event.sql"], partial, dag_files())
    unrecorded = sorted(f"dags/{file}" for file in inventory.read_all().values())
    unrecorded.remove("dags/redshift__01_create_tables.py")
    assert len(unrecorded) > 1  # the message names the first of several, in order
    assert dags is None and why == f"no record of what {unrecorded[0]} reads"


def test_more_than_the_limit_of_dags_tests_every_dag(reads, monkeypatch):
    many = {f"dags/redshift__{n:03d}_x.py": [] for n in range(MAX_DAGS + 1)}
    monkeypatch.setattr(inventory, "read_all", lambda: {p[5:-3]: p[5:] for p in many})
    assert affected(sorted(many)[:MAX_DAGS], many, set(many))[0] is not None  # at the limit: per DAG
    assert affected(sorted(many), many, set(many)) == (None, f"{MAX_DAGS + 1} DAGs are affected")


def test_no_record_exits_with_every_dag(tmp_path, capsys):
    assert main([str(tmp_path / "none.json"), "sql/x.sql"]) == EVERY_DAG
    assert capsys.readouterr().out.startswith("every DAG: no record")


def test_the_command_prints_the_dags_a_pushed_change_affects(reads, tmp_path, monkeypatch, capsys, repo_root):
    """As the pre-push hook runs it: the record first, then the changed paths, from the checkout's root."""
    record = tmp_path / "dag-reads.json"
    record.write_text(json.dumps(reads))
    monkeypatch.chdir(repo_root)

    status = main([str(record), "sql/redshift/ddl/schema.sql", "dags/redshift__01_create_tables.py"])

    assert (status, capsys.readouterr().out) == (0, "redshift__01_create_tables\n")
