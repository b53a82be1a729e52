"""The README's recipes "Adding a Redshift table" and "Adding a Hudi table", followed step by step in a copy
of the repository: the files each step asks for, the step's sample-data commands run as the README prints them
(`<table>` replaced), then the README's gate commands. Before the sample-data step the gate names the table
that has none and the command that fixes it; after the last step it is green.

The fast gate runs narrowed to the tests that read the table specs (the whole `./run_tests.sh --fast` is the
same commands over more tests; a recipe changes nothing the others read); the local runs and the full
`./run_tests.sh` the recipes end with are this suite's end-to-end tests of every table of the specs. A step
added to a recipe fails here until this test follows it too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import repository
from deploy import REPORT_DEPRECATIONS_ENV
from mutation.run import copy_tree
from tests.docs.test_docs import CODE_SPAN, README
from tests.hooks.conftest import LEAKING_PREFIXES

pytestmark = pytest.mark.slow

# The tests of the fast gate that read the table specs, their DDL, schemas and sample data.
TABLE_TESTS = (
    "tests/sample_data/test_bucket.py",
    "tests/dags/test_dags_load.py",
    "tests/dags/test_datalake_transforms.py",
    "tests/dags/test_redshift_spec_dags.py",
    "tests/dags/test_hudi_dags.py",
)
# Shell commands a step prints for the user to run (besides the repository's entry points).
SHELL = ("mkdir", "gzip", "tools/venv.sh")

RATING = "venue_rating"
RATING_DDL = f"""CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{RATING} (
    ratingid INTEGER NOT NULL,
    venueid SMALLINT,
    stars SMALLINT,
    ratingtime TIMESTAMP
)
DISTKEY (venueid)
SORTKEY (ratingid)
"""
RATING_COLUMNS = (
    ("ratingid", "int"),
    ("venueid", "smallint"),
    ("stars", "smallint"),
    ("ratingtime", "timestamp"),
)
RATING_ROWS = "1|1|5|2024-01-05 19:30:00\n2|2|4|2024-01-12 21:10:00\n"

EXHIBITIONS = "exhibitions"
EXHIBITION_ROWS = [
    {"exhibition_id": 1, "title": "Bauhaus 1919-1933", "department": "Architecture & Design", "__op": "r"},
    {"exhibition_id": 2, "title": "Picasso: Guitars", "department": "Painting & Sculpture", "__op": "c"},
]


def steps(heading: str, followed: int) -> list[str]:
    """The numbered steps of the README section `heading`, each as one text; this test follows `followed`."""
    section = README.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    found = re.split(r"^\d+\. ", section, flags=re.MULTILINE)[1:]
    assert len(found) == followed, (
        f"README.md '{heading}' has {len(found)} steps, {Path(__file__).name} follows {followed}: "
        "follow the changed steps here too"
    )
    return found


def printed_commands(step: str, table: str) -> list[str]:
    """The commands a step prints in code spans, in order, for the table `table`."""
    spans = [" ".join(span.split()) for span in CODE_SPAN.findall(step)]
    return [span.replace("<table>", table) for span in spans if span.split()[0] in (*SHELL, "./run_tests.sh")]


class Copy:
    """A git checkout of the working tree, its commands run with this session's venv."""

    def __init__(self, path: Path):
        self.path = path
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(LEAKING_PREFIXES)
            # the upgrade check's demotion of deprecations reaches this gate as it reaches the hooks' gates
            and (not key.startswith("LAKEHOUSE_") or key == REPORT_DEPRECATIONS_ENV)
        }
        self.env["LAKEHOUSE_VENV"] = sys.prefix
        copy_tree(repository.ROOT, path, None)
        for command in ("init -q -b main", "add -A", "-c user.name=E -c user.email=e@x commit -q -m copy"):
            subprocess.run(["git", *command.split()], cwd=path, env=self.env, check=True, capture_output=True)

    def run(self, command: str) -> subprocess.CompletedProcess:
        """`command` as a user types it in the checkout (a shell line)."""
        return subprocess.run(
            command,
            shell=True,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            executable="bash",
        )

    def gate(self, command: str, tests: tuple[str, ...] = TABLE_TESTS) -> subprocess.CompletedProcess:
        """A printed ./run_tests.sh command; the fast gate narrowed to `tests`."""
        if command == "./run_tests.sh --fast":
            command = shlex.join([*command.split(), *tests])
        return self.run(command)


def follow(copy: Copy, commands: list[str]) -> list[str]:
    """Runs the printed commands but the gate's, which it returns in order (the caller runs them)."""
    gate = []
    for command in commands:
        if command.startswith("./run_tests.sh"):
            gate.append(command)
            continue
        done = copy.run(command)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    return gate


def add_redshift_table(copy: Copy, ddl: str, entry: str, columns: str) -> None:
    """Steps 1-3 of "Adding a Redshift table": the DDL file, the spec's entry, the Glue job's columns."""
    assert "`sql/redshift/ddl/<table>.sql`" in ddl
    (copy.path / "sql" / "redshift" / "ddl" / f"{RATING}.sql").write_text(RATING_DDL)

    assert "`dags/redshift/tables.yaml`" in entry and "`key`" in entry
    with open(copy.path / "dags" / "redshift" / "tables.yaml", "a") as spec:
        spec.write(f"\n  - name: {RATING}\n    key: ratingid\n    ddl: redshift/ddl/{RATING}.sql\n")

    assert "`COLUMNS`" in columns and "`dags/glue_scripts/tickit_refine.py`" in columns
    script = copy.path / "dags" / "glue_scripts" / "tickit_refine.py"
    lines = "".join(f'        ("{name}", "{kind}"),\n' for name, kind in RATING_COLUMNS)
    script.write_text(script.read_text().replace("\n}\n", f'\n    "{RATING}": (\n{lines}    ),\n}}\n', 1))


def add_hudi_table(copy: Copy, schema: str, entry: str) -> None:
    """Steps 1-2 of "Adding a Hudi table": the Avro schema (Debezium's fields as artists.avsc has them), the
    spec's entry."""
    assert "`dags/hudi/schemas/<table>.avsc`" in schema and "`artists.avsc`" in schema
    artists = json.loads((copy.path / "dags" / "hudi" / "schemas" / "artists.avsc").read_text())
    fields = [{"name": "exhibition_id", "type": "int"}]
    fields += [
        {"name": name, "type": ["null", "string"], "default": None} for name in ("title", "department")
    ]
    fields += [field for field in artists["fields"] if field["name"].startswith("__")]
    namespace = f"moma.public.{EXHIBITIONS}"
    avro = {"type": "record", "name": "Value", "namespace": namespace, "fields": fields}
    (copy.path / "dags" / "hudi" / "schemas" / f"{EXHIBITIONS}.avsc").write_text(json.dumps(avro))

    assert "`dags/hudi/tables.yaml`" in entry
    spec_file = copy.path / "dags" / "hudi" / "tables.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    table = {"name": EXHIBITIONS, "table_type": "COPY_ON_WRITE", "record_key": "exhibition_id"}
    table.update(partition_field="department", schema=f"schemas/{EXHIBITIONS}.avsc")
    table.update(source_path=f"kafka/topics/{namespace}/", target_path=f"hudi/moma/{EXHIBITIONS}/")
    spec["tables"].append(table)
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))


def test_the_table_recipes_followed_as_printed_are_green_and_name_a_table_left_without_sample_data(tmp_path):
    """Both recipes in one checkout (one gate run for both tables): their steps in order, but the sample data
    of both written last, after the gate has named what is missing."""
    copy = Copy(tmp_path / "checkout")
    ddl, entry, columns, redshift_sample, redshift_gate = steps("Adding a Redshift table", 5)
    hudi_schema, hudi_entry, hudi_sample, hudi_gate = steps("Adding a Hudi table", 4)
    add_redshift_table(copy, ddl, entry, columns)
    add_hudi_table(copy, hudi_schema, hudi_entry)
    gate = follow(copy, printed_commands(redshift_gate, RATING))
    assert (
        gate
        == follow(copy, printed_commands(hudi_gate, EXHIBITIONS))
        == [
            "./run_tests.sh --update-inventory",
            "./run_tests.sh --fast",
            "./run_tests.sh",  # the whole gate: this suite, with its local runs of every table of the specs
        ]
    )

    assert copy.gate(gate[0]).returncode == 0
    done = copy.gate(gate[1], tests=("tests/sample_data/test_bucket.py",))
    assert done.returncode == 1
    redshift_missing = (
        f"table '{RATING}' (dags/redshift/tables.yaml): no sample data under raw/tickit/{RATING}/"
    )
    assert redshift_missing in done.stdout
    assert f"Fix: mkdir -p tools/sample_data/bucket/raw/tickit/{RATING} && gzip -n < ROWS.txt" in done.stdout
    hudi_missing = f"table '{EXHIBITIONS}' (dags/hudi/tables.yaml): no sample data under kafka/topics/"
    assert hudi_missing in done.stdout
    assert (
        f"Fix: tools/venv.sh python -m sample_data.avro dags/hudi/schemas/{EXHIBITIONS}.avsc" in done.stdout
    )

    (copy.path / "rows.txt").write_text(RATING_ROWS)
    assert follow(copy, printed_commands(redshift_sample, RATING)) == ["./run_tests.sh --fast"]
    timestamp = {"__source_ts_ms": 1709251200000, "__table": EXHIBITIONS}
    (copy.path / "rows.jsonl").write_text(
        "".join(json.dumps({**row, **timestamp}) + "\n" for row in EXHIBITION_ROWS)
    )
    follow(copy, printed_commands(hudi_sample, EXHIBITIONS))
    bucket = copy.path / "tools" / "sample_data" / "bucket"
    assert (bucket / "raw" / "tickit" / RATING / f"{RATING}_pipe.txt.gz").is_file()
    assert list((bucket / "kafka" / "topics" / f"moma.public.{EXHIBITIONS}").glob("partition=0/*.avro"))
    for command in gate[:2]:
        done = copy.gate(command)
        assert (
            done.returncode == 0
        ), f"{command} failed in the copy:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
