"""Runs the Redshift DAGs' SQL, rendered from the DAG tasks, on an engine: what the Data API would execute.

COPY is the one statement no local engine can run (it reads S3 with an IAM role): its rendered FROM URI is
resolved against the generated sample files by S3 key, and those files are loaded into the staging table.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlglot import exp

from sql_statements import parse_statement
from sample_data.bucket import redshift_spec
from sample_data.tickit import TickitSample, read_rows
from tests.dags.rendering import normal_run, rendered_sql, variable_values
from tests.sql.engines import Engine, unload_parts

CREATE_DAG = "redshift__01_create_tables"
INITIAL_DAG = "redshift__02_initial_load"
INCREMENTAL_DAG = "redshift__03_incremental_load"
UNLOAD_DAG = "redshift__04_unload_sales_by_category"
BUCKET = variable_values()["lakehouse_bucket"]
# The tables of dags/redshift/tables.yaml, by name, in load order.
TABLES = {table.name: table for table in redshift_spec().tables}
INCREMENTAL_TABLES = [table.name for table in redshift_spec().incremental]
# Rendered statements per (task, logical date): every pipeline renders the same tasks for the same days.
_RENDERED: dict[tuple[int, datetime], tuple[object, tuple[str, ...]]] = {}


class CheckFailed(AssertionError):
    pass


class RedshiftPipeline:
    def __init__(self, engine: Engine, dags: dict, files: dict[str, Path], sample: TickitSample):
        self.engine, self.dags, self.files, self.sample = engine, dags, files, sample
        self.first_day = datetime.combine(sample.start, datetime.min.time(), tzinfo=timezone.utc)

    def sql(self, dag_id: str, task_id: str, logical_date: datetime | None = None) -> list[str]:
        """The task's statements in the run its DAG's schedule makes on `logical_date`'s day (for the
        incremental load: the scheduled run of the interval starting that day)."""
        task, logical_date = self.dags[dag_id].task_dict[task_id], logical_date or self.first_day
        cached = _RENDERED.get((id(task), logical_date))
        if cached is None or cached[0] is not task:
            run = normal_run(task.dag, logical_date)
            cached = _RENDERED[id(task), logical_date] = (task, tuple(rendered_sql(task, run)))
        return list(cached[1])

    def create_tables(self) -> None:
        self.engine.run_batch(self.sql(CREATE_DAG, "create_schema_and_tables"))

    def load_group(self, dag_id: str, table: str, logical_date: datetime) -> None:
        """The task group copy_to_staging -> merge -> check -> drop_staging of one table."""
        drop, create, copy = self.sql(dag_id, f"{table}.copy_to_staging", logical_date)
        self.engine.run_batch([drop, create])
        self._copy(copy)
        self.engine.run_batch(self.sql(dag_id, f"{table}.merge", logical_date))
        self.check(dag_id, f"{table}.check", logical_date)
        self.engine.run_batch(self.sql(dag_id, f"{table}.drop_staging", logical_date))

    def _copy(self, copy_sql: str) -> None:
        tree = parse_statement(copy_sql, "redshift")
        assert isinstance(tree, exp.Copy), copy_sql
        uri = tree.args["files"][0].name
        assert uri.startswith(f"s3://{BUCKET}/"), f"COPY reads {uri}, not the lakehouse bucket {BUCKET}"
        prefix = uri[len(f"s3://{BUCKET}/") :]
        matched = sorted(key for key in self.files if key.startswith(prefix))
        for key in matched:
            self.engine.load(tree.this.sql(), self.files[key])

    def check(self, dag_id: str, task_id: str, logical_date: datetime) -> None:
        (sql,) = self.sql(dag_id, task_id, logical_date)
        failed = self.engine.run(sql)
        if failed:
            raise CheckFailed(f"{dag_id}.{task_id} on {self.engine.name}: failed checks {failed}")

    def initial_load(self) -> None:
        for table in TABLES:
            self.load_group(INITIAL_DAG, table, self.first_day)
        self.check(INITIAL_DAG, "check_references", self.first_day)

    def incremental_load(self, ds: str) -> None:
        logical_date = datetime.fromisoformat(ds).replace(tzinfo=timezone.utc)
        for table in INCREMENTAL_TABLES:
            self.load_group(INCREMENTAL_DAG, table, logical_date)
        self.check(INCREMENTAL_DAG, "check_references", logical_date)

    def load_everything(self) -> None:
        """What the DAGs do in order: create the tables, the initial load, then each incremental day."""
        self.create_tables()
        self.initial_load()
        for ds in self.sample.increments:
            self.incremental_load(ds)

    def unload_query(self) -> str:
        (unload,) = self.sql(UNLOAD_DAG, "unload_sales_by_category")
        return unload_parts(unload)[0]

    def table(self, table: str) -> dict[str, list[str | None]]:
        """The table's rows, keyed by primary key, as the strings the sample files hold."""
        key = TABLES[table].columns.index(TABLES[table].key)
        columns = ", ".join(TABLES[table].columns)
        rows = [
            [as_file_text(v) for v in row] for row in self.engine.run(f"SELECT {columns} FROM tickit.{table}")
        ]
        by_key = {row[key]: row for row in rows}
        assert len(by_key) == len(
            rows
        ), f"tickit.{table} on {self.engine.name}: duplicate {TABLES[table].key}"
        return by_key


def as_file_text(value) -> str | None:
    """An engine value written as the generator writes it (CHAR padding dropped: PostgreSQL pads CHAR(n))."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.rstrip(" ")
    return str(value)


def expected_tables(files: dict[str, Path], through_ds: str | None = None) -> dict[str, dict[str, list]]:
    """Table contents computed from the files alone: the initial extract, then each day's rows by key."""
    from lakehouse import layout

    def rows_under(prefix: str) -> list[list]:
        return [row for key in sorted(files) if key.startswith(prefix) for row in read_rows(files[key])]

    tables: dict[str, dict[str, list]] = {}
    for name, table in TABLES.items():
        key = table.columns.index(table.key)
        tables[name] = {row[key]: row for row in rows_under(layout.full_prefix(name))}
    days = sorted({k.split("/ds=")[1].split("/")[0] for k in files if "/ds=" in k})
    for ds in days:
        if through_ds is not None and ds > through_ds:
            break
        for name in INCREMENTAL_TABLES:
            key = TABLES[name].columns.index(TABLES[name].key)
            for row in rows_under(layout.incremental_prefix(name, ds)):
                tables[name][row[key]] = row
    return tables


def sales_by_category(tables: dict[str, dict[str, list]]) -> dict[tuple, tuple]:
    """The UNLOAD aggregate in plain Python: group key -> (sales, tickets, sale amount, commission, pct)."""

    def column(table, row, name):
        return row[TABLES[table].columns.index(name)]

    groups: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for sale in tables["sales"].values():
        event = tables["event"][column("sales", sale, "eventid")]
        category = tables["category"][column("event", event, "catid")]
        seller = tables["users"][column("sales", sale, "sellerid")]
        buyer = tables["users"][column("sales", sale, "buyerid")]
        key = (
            column("category", category, "catgroup"),
            column("category", category, "catname"),
            int(column("event", event, "eventid")),
            column("event", event, "eventname"),
            int(column("sales", sale, "sellerid")),
            column("users", seller, "username"),
            int(column("sales", sale, "buyerid")),
            column("users", buyer, "username"),
        )
        totals = groups[key]
        totals[0] += 1
        totals[1] += int(column("sales", sale, "qtysold"))
        totals[2] += Decimal(column("sales", sale, "pricepaid"))
        totals[3] += Decimal(column("sales", sale, "commission"))
    return {
        key: (
            n,
            tickets,
            amount,
            commission,
            (100 * commission / amount).quantize(Decimal("0.01"), ROUND_HALF_UP),
        )
        for key, (n, tickets, amount, commission) in groups.items()
    }
