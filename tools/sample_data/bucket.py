"""Sample data for every table of the specs, laid out as the lakehouse bucket: what local runs and tests use.

Two sources, one set of S3 keys ({key: local file}):

- generated: the TICKIT tables (sample_data.tickit), starting on the DAGs' start date, so the incremental
  days are days the DAGs run for (LOCAL_SAMPLE_DAYS);
- committed: every file under tools/sample_data/bucket/ is uploaded as it is, at its path below that
  folder (`tools/sample_data/bucket/raw/tickit/venue_review/venue_review_pipe.txt.gz` ->
  `raw/tickit/venue_review/venue_review_pipe.txt.gz`): a table the generator does not know, a Hudi source.

`problems(...)` is what the DAG gate reports (tests/sample_data/test_bucket.py): a table of a spec whose
source has no sample file, a committed file no table reads, a file COPY or HoodieStreamer could not read.
See docs/sample_data.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import repository
from lakehouse import hudi, layout, redshift_tables
from lakehouse.defaults import START_DATE
from sample_data import tickit

SAMPLE_BUCKET = repository.TOOLS / "sample_data" / "bucket"
# The DAGs' start date: the sample's incremental days are then days the DAGs run for.
LOCAL_SAMPLE_START = START_DATE.date()
LOCAL_SAMPLE_DAYS = tuple(tickit.increment_days(LOCAL_SAMPLE_START))
# Files of the folder that are about it, not in it.
NOT_UPLOADED = {".gitkeep", ".DS_Store"}


class SampleDataError(ValueError):
    """The committed sample files and the generated ones claim the same S3 key."""


@dataclass(frozen=True)
class Source:
    """Where one table reads its files from, for one load."""

    table: str
    spec: str  # the spec file, relative to the repository
    prefix: str  # S3 key prefix in the lakehouse bucket
    example_key: str  # where a committed sample file for it would go
    avro_schema: str | None = None  # a Hudi source's schema (repository-relative): its files are Avro

    def describe(self) -> str:
        return f"table '{self.table}' ({self.spec})"

    def fix(self, folder: Path = SAMPLE_BUCKET) -> str:
        """A command that writes the missing sample file from rows the user writes first."""
        target = f"{_shown(folder)}/{self.example_key}"
        if self.avro_schema:
            return f"tools/venv.sh python -m sample_data.avro {self.avro_schema} ROWS.jsonl {target}"
        return f"mkdir -p {target.rsplit('/', 1)[0]} && gzip -n < ROWS.txt > {target}"


@lru_cache(maxsize=None)
def redshift_spec(dags: Path = repository.DAGS, sql: Path = repository.SQL) -> redshift_tables.RedshiftSpec:
    return redshift_tables.load_spec(dags / redshift_tables.SPEC, sql)


@lru_cache(maxsize=None)
def hudi_tables(dags: Path = repository.DAGS) -> tuple[hudi.HudiTable, ...]:
    return hudi.load_spec(dags / hudi.SPEC)


def local_sample(seed: int = 0) -> tickit.TickitSample:
    """The generated TICKIT sample of local runs and tests."""
    return tickit.generate(seed=seed, start=LOCAL_SAMPLE_START)


def committed_files(folder: Path = SAMPLE_BUCKET) -> dict[str, Path]:
    """{S3 key: file} for every committed sample file."""
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in NOT_UPLOADED
    }


def sample_files(
    out_dir: Path | str, sample: tickit.TickitSample, folder: Path = SAMPLE_BUCKET
) -> dict[str, Path]:
    """The generated sample written under `out_dir`, and the committed files: {S3 key: file}."""
    committed = committed_files(folder)
    generated = tickit.write_files(out_dir, sample)
    both = sorted(set(generated) & set(committed))
    if both:
        raise SampleDataError(
            f"{_shown(folder / both[0])}: sample_data.tickit generates {both[0]} too. Fix: delete the "
            "committed file (the generator's tables are generated), or change the generator instead."
        )
    return {**generated, **committed}


def sources(
    spec: redshift_tables.RedshiftSpec, hudi_specs: tuple[hudi.HudiTable, ...], days: tuple[str, ...]
) -> list[Source]:
    """Every prefix a DAG reads source files from: each Redshift table's extract (and each day's increment
    of an incremental table), each Hudi table's Kafka Connect topic folder."""
    redshift_file = str(redshift_tables.SPEC.as_posix())
    found = []
    for table in spec.tables:
        found.append(
            Source(
                table.name,
                f"dags/{redshift_file}",
                layout.full_prefix(table.name),
                layout.full_key(table.name),
            )
        )
        for ds in days if table.incremental else ():
            found.append(
                Source(
                    table.name,
                    f"dags/{redshift_file}",
                    layout.incremental_prefix(table.name, ds),
                    layout.incremental_key(table.name, ds),
                )
            )
    for table in hudi_specs:
        topic = table.source_path.rstrip("/").rsplit("/", 1)[-1]
        found.append(
            Source(
                table.name,
                f"dags/{hudi.SPEC.as_posix()}",
                table.source_path,
                f"{table.source_path}partition=0/{topic}+0+0000000000.avro",
                avro_schema=f"dags/{hudi.SPEC.parent.as_posix()}/{table.schema}",
            )
        )
    return found


def missing(keys: set[str] | dict, found_sources: list[Source], folder: Path = SAMPLE_BUCKET) -> list[str]:
    """A message for each source prefix no sample key is under, naming the table, the prefix and the fix."""
    messages = []
    for source in found_sources:
        if not any(key.startswith(source.prefix) for key in keys):
            messages.append(
                f"{source.describe()}: no sample data under {source.prefix}: a local run loads nothing. "
                f"Fix: {source.fix(folder)} (ROWS: {_rows_format(source)}; docs/sample_data.md)"
            )
    return messages


def _rows_format(source: Source) -> str:
    if source.avro_schema:
        return "one JSON object per line, the schema's fields"
    return "one line per row, the table's columns separated by '|'"


def file_problems(
    committed: dict[str, Path],
    spec: redshift_tables.RedshiftSpec,
    hudi_specs: tuple[hudi.HudiTable, ...],
    dags: Path = repository.DAGS,
) -> list[str]:
    """A message for each committed file no table reads, or that its table's load could not read."""
    owners: dict[str, object] = {}
    for table in spec.tables:
        owners[layout.full_prefix(table.name)] = table
        if table.incremental:
            owners[layout.incremental_table_prefix(table.name)] = table
    for table in hudi_specs:
        owners[table.source_path] = table
    messages = []
    for key, path in committed.items():
        owner = next((table for prefix, table in owners.items() if key.startswith(prefix)), None)
        if owner is None:
            messages.append(
                f"{_shown(path)}: no table reads {key}. Fix: move it under its table's folder "
                f"({', '.join(sorted(owners)[:3])}, ...; see docs/sample_data.md) or delete it."
            )
        elif isinstance(owner, redshift_tables.RedshiftTable):
            messages += _pipe_file_problems(path, owner)
        else:
            messages += _avro_file_problems(path, owner, dags / hudi.SPEC.parent / owner.schema)
    return messages


def _pipe_file_problems(path: Path, table: redshift_tables.RedshiftTable) -> list[str]:
    """COPY ... DELIMITER '|' GZIP reads a gzip file of lines with one field per column of the table."""
    try:
        rows = tickit.read_rows(path)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        return [
            f"{_shown(path)}: not a gzip text file ({error}), and COPY reads the table's files with GZIP. "
            f"Fix: gzip -n the pipe-delimited rows: gzip -n < rows.txt > {_shown(path)}"
        ]
    if not rows:
        return [f"{_shown(path)}: no rows. Fix: write at least one row (one line, fields separated by '|')."]
    for number, row in enumerate(rows, 1):
        if len(row) != len(table.columns):
            return [
                f"{_shown(path)}: line {number} has {len(row)} fields, table '{table.name}' has "
                f"{len(table.columns)} columns ({table.ddl}: {', '.join(table.columns)}). "
                "Fix: one field per column, in that order, separated by '|'."
            ]
    return []


def _avro_file_problems(path: Path, table: hudi.HudiTable, schema_file: Path) -> list[str]:
    """The Kafka Connect S3 sink writes Avro container files; HoodieStreamer reads them with the table's
    schema (AvroDFSSource, FilebasedSchemaProvider)."""
    import fastavro

    schema = fastavro.parse_schema(json.loads(schema_file.read_text()))
    try:
        with open(path, "rb") as handle:
            reader = fastavro.reader(handle)
            written = [field["name"] for field in reader.writer_schema["fields"]]
            records = list(reader)
    except (ValueError, EOFError, KeyError, TypeError, fastavro.read.SchemaResolutionError) as error:
        return [
            f"{_shown(path)}: not an Avro container file ({error}). Fix: write it with "
            f"tools/venv.sh python -m sample_data.avro {_shown(schema_file)} ROWS.jsonl {_shown(path)}"
        ]
    expected = [field["name"] for field in schema["fields"]]
    if written != expected:
        return [
            f"{_shown(path)}: written with another schema than {_shown(schema_file)} (fields {written}, "
            f"expected {expected}). Fix: write it again: "
            f"tools/venv.sh python -m sample_data.avro {_shown(schema_file)} ROWS.jsonl {_shown(path)}"
        ]
    for number, record in enumerate(records, 1):
        if not fastavro.validate(record, schema, raise_errors=False):
            return [
                f"{_shown(path)}: record {number} does not match {_shown(schema_file)}: {record}. "
                "Fix: write it again from rows that match the schema: "
                f"tools/venv.sh python -m sample_data.avro {_shown(schema_file)} ROWS.jsonl {_shown(path)}"
            ]
    return [] if records else [f"{_shown(path)}: no records. Fix: write at least one record."]


def problems(
    dags: Path = repository.DAGS, sql: Path = repository.SQL, folder: Path = SAMPLE_BUCKET
) -> list[str]:
    """Everything wrong with the sample data of the specs in `dags`, one message each (empty: all good)."""
    spec = redshift_tables.load_spec(dags / redshift_tables.SPEC, sql)
    hudi_specs = hudi.load_spec(dags / hudi.SPEC)
    committed = committed_files(folder)
    keys = set(tickit.sample_keys(LOCAL_SAMPLE_START)) | set(committed)
    found_sources = sources(spec, hudi_specs, LOCAL_SAMPLE_DAYS)
    return missing(keys, found_sources, folder) + file_problems(committed, spec, hudi_specs, dags)


def _shown(path: Path) -> str:
    """A path as the user types it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(repository.ROOT).as_posix()
    except ValueError:
        return str(path)
