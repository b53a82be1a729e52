"""Redshift tables described as data: the table spec (dags/redshift/tables.yaml) and its validation.

Each entry names a table, its key (the column the merge matches rows on), its DDL file (under sql/) and,
for a table loaded daily as well, its event time (the timestamp that places a row in a data interval).
The DAGs read the spec when they are parsed; the task-group factories take its tables
(lakehouse.redshift.copy_merge_check_group), so adding a table changes data, never plugins/. Where a
table's files lie in the lakehouse bucket follows from its name (lakehouse.layout).

`load_spec` validates the whole spec before any task exists: a bad entry fails the import of the DAG
files that read it, naming the spec file, the table, the field and the fix (lakehouse.table_spec).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from lakehouse.table_spec import (
    Fail,
    TableSpecError,
    entries,
    fail,
    read_document,
    refuse_duplicate_names,
    refuse_unknown_fields,
    require_fields,
    require_mapping,
)

# Where the spec sits in the DAG folder: the bundle ships it there, dags/.airflowignore keeps it from parsing.
SPEC = PurePosixPath("redshift", "tables.yaml")
REQUIRED_FIELDS = ("name", "key", "ddl")
OPTIONAL_FIELDS = ("event_time",)
# Redshift folds unquoted names to lower case; the name is also the task group id and a folder in the bucket.
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
MAX_IDENTIFIER_BYTES = 127  # Redshift: names are at most 127 bytes long
# The DDL files create `{{ params.schema }}.<table>`, the schema filled in from the DAG's params.
CREATE_TABLE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\{\{\s*params\.schema\s*\}\}\.(\w+)\s*\(", re.IGNORECASE
)
TABLE_CONSTRAINTS = ("primary", "foreign", "unique", "constraint", "check", "like")


@dataclass(frozen=True)
class RedshiftTable:
    name: str
    key: str  # the column the merge matches staged rows on
    ddl: str  # the CREATE TABLE file, relative to sql/ (a template path of the DAGs)
    columns: tuple[str, ...]  # in file order = column order of the source files COPY reads
    schema: str
    event_time: str | None = None  # set: the table is also loaded daily, one data interval at a time

    @property
    def incremental(self) -> bool:
        return self.event_time is not None


def ddl_columns(ddl_text: str) -> tuple[str, str] | None:
    """(table name, its column names in order) of the CREATE TABLE in `ddl_text` (None: no CREATE TABLE).

    Reads the column list textually (one column per line, comments removed): the DAG files are parsed on
    MWAA, which has no SQL parser; the tests parse the same files with sqlglot.
    """
    text = re.sub(r"--[^\n]*", "", ddl_text)
    match = CREATE_TABLE.search(text)
    if match is None:
        return None
    depth, body = 1, []
    for char in text[match.end() :]:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
        body.append(char)
    columns = []
    for definition in re.split(r",\s*\n", "".join(body)):
        words = definition.split()
        if words and words[0].lower() not in TABLE_CONSTRAINTS:
            columns.append(words[0].strip('"').lower())
    return match.group(1).lower(), tuple(columns)


def parse_table(
    entry: object, spec_file: Path, position: int, schema: str, sql_folder: Path
) -> RedshiftTable:
    """One validated table from its spec entry; the first rule it breaks raises TableSpecError."""
    table = require_mapping(entry, spec_file, position)
    fail_here = partial(fail, spec_file, table)
    for validate in (_require_fields, _refuse_unknown_fields, _require_identifiers, _require_ddl_path):
        validate(entry, fail_here)
    columns = _ddl_table_columns(entry, sql_folder, fail_here)
    for field in ("key", "event_time"):
        if entry.get(field) is not None and entry[field] not in columns:
            raise fail_here(
                field,
                f"'{entry[field]}' is not a column of {entry['ddl']}",
                f"use one of {list(columns)}",
            )
    return RedshiftTable(
        name=entry["name"],
        key=entry["key"],
        ddl=entry["ddl"],
        columns=columns,
        schema=schema,
        event_time=entry.get("event_time"),
    )


def _require_fields(entry: dict, fail: Fail) -> None:
    require_fields(entry, fail, REQUIRED_FIELDS)
    if "event_time" in entry and (
        not isinstance(entry["event_time"], str) or not entry["event_time"].strip()
    ):
        raise fail(
            "event_time",
            f"{entry['event_time']!r} is not a column name",
            "name the row's timestamp column, or remove the field for a table loaded in full only",
        )


def _refuse_unknown_fields(entry: dict, fail: Fail) -> None:
    refuse_unknown_fields(entry, fail, REQUIRED_FIELDS + OPTIONAL_FIELDS)


def _require_identifiers(entry: dict, fail: Fail) -> None:
    for field in ("name", "key", "event_time"):
        value = entry.get(field)
        if value is None:
            continue
        if not IDENTIFIER.fullmatch(value) or len(value.encode()) > MAX_IDENTIFIER_BYTES:
            raise fail(
                field,
                f"{value!r} is not a Redshift name",
                "use lower-case letters, digits and '_', starting with a letter, "
                f"at most {MAX_IDENTIFIER_BYTES} bytes",
            )


def _require_ddl_path(entry: dict, fail: Fail) -> None:
    path = PurePosixPath(entry["ddl"])
    if path.is_absolute() or ".." in path.parts or path.suffix != ".sql":
        raise fail(
            "ddl",
            f"{entry['ddl']!r} is not a .sql file under sql/",
            f"write it relative to sql/, like 'redshift/ddl/{entry['name']}.sql'",
        )


def _ddl_table_columns(entry: dict, sql_folder: Path, fail: Fail) -> tuple[str, ...]:
    ddl_file = sql_folder / entry["ddl"]
    if not ddl_file.is_file():
        raise fail(
            "ddl",
            f"no file sql/{entry['ddl']}",
            f"create sql/{entry['ddl']} (CREATE TABLE IF NOT EXISTS ...)",
        )
    parsed = ddl_columns(ddl_file.read_text())
    expected = f"CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{entry['name']} (...)"
    if parsed is None or parsed[0] != entry["name"]:
        found = "no CREATE TABLE {{ params.schema }}.<table>" if parsed is None else f"table '{parsed[0]}'"
        raise fail("ddl", f"sql/{entry['ddl']} creates {found}", f"write {expected} in it")
    if not parsed[1]:
        raise fail("ddl", f"sql/{entry['ddl']} declares no columns", "list the table's columns, one per line")
    return parsed[1]


@dataclass(frozen=True)
class RedshiftSpec:
    schema: str  # the Redshift schema every table of the spec lives in
    tables: tuple[RedshiftTable, ...]  # in load order: a table before the tables that reference it

    @property
    def incremental(self) -> tuple[RedshiftTable, ...]:
        """The tables also loaded daily (those with an event_time)."""
        return tuple(table for table in self.tables if table.incremental)


def load_spec(spec_file: Path | str, sql_folder: Path | None = None) -> RedshiftSpec:
    """The spec's schema and every table, in its order, validated.

    `sql_folder` holds the DDL files (default: lakehouse.paths.sql_folder(), as the DAGs find it on MWAA).
    """
    spec_file = Path(spec_file)
    if sql_folder is None:
        from lakehouse.paths import sql_folder as configured_sql_folder  # reads Airflow's configuration

        sql_folder = configured_sql_folder()
    document = read_document(spec_file)
    schema = document.get("schema")
    if not isinstance(schema, str) or not IDENTIFIER.fullmatch(schema):
        raise TableSpecError(
            f"{spec_file}: 'schema' is {schema!r}, not a Redshift schema name. "
            "Fix: write the schema the tables live in at the top, e.g. 'schema: tickit'."
        )
    tables = tuple(
        parse_table(entry, spec_file, n, schema, sql_folder)
        for n, entry in enumerate(entries(spec_file, document), 1)
    )
    refuse_duplicate_names(spec_file, [table.name for table in tables])
    return RedshiftSpec(schema=schema, tables=tables)
