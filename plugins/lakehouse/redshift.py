"""Redshift building blocks: Data API tasks that run SQL files, a check task, and the copy -> merge -> check
task group every TICKIT load is made of.

    TICKIT = load_spec(Path(__file__).parent / SPEC)  # in a DAG file: dags/redshift/tables.yaml
    for table in TICKIT.incremental:
        copy_merge_check_group(table, layout.incremental_prefix(table.name, INTERVAL_DAY),
                               event_time=table.event_time)

Every statement goes through the Redshift Data API with the cluster, database and user of the Variables
redshift_cluster_id, redshift_database and redshift_db_user (read at run time). A list of SQL files is sent as
one BatchExecuteStatement, which Redshift runs as one transaction.
"""

from __future__ import annotations

import re
from typing import Any

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import TaskGroup

from lakehouse.defaults import AWS_CONN_ID
from lakehouse.redshift_tables import MAX_IDENTIFIER_BYTES, RedshiftTable

POLL_SECONDS = 5
CHECK_COLUMNS = ("check_name", "failures")
# In a source prefix: the day the run's data interval starts (YYYY-MM-DD), filled in by staging/copy.sql.
INTERVAL_DAY = "{interval_day}"


# Where every statement runs; templates, rendered at run time from the Variables.
CONNECTION = {
    "aws_conn_id": AWS_CONN_ID,
    "cluster_identifier": "{{ var.value.redshift_cluster_id }}",
    "database": "{{ var.value.redshift_database }}",
    "db_user": "{{ var.value.redshift_db_user }}",
}


def redshift_sql(
    task_id: str,
    sql: str | list[str],
    operator: type[RedshiftDataOperator] = RedshiftDataOperator,
    **kwargs: Any,
) -> RedshiftDataOperator:
    """Runs `sql` (a .sql path under sql/, or a list of them = one transaction) and waits for it."""
    return operator(
        task_id=task_id, sql=sql, wait_for_completion=True, poll_interval=POLL_SECONDS, **CONNECTION, **kwargs
    )


def redshift_check(task_id: str, sql: str, **kwargs: Any) -> "RedshiftDataCheckOperator":
    """Runs the check query `sql` (see RedshiftDataCheckOperator) and fails when any check fails."""
    return RedshiftDataCheckOperator(
        task_id=task_id, sql=sql, poll_interval=POLL_SECONDS, **CONNECTION, **kwargs
    )


class RedshiftDataCheckOperator(RedshiftDataOperator):
    """Runs a check query that returns one (check_name, failures) row per failed check; fails on any row."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(return_sql_result=True, wait_for_completion=True, deferrable=False, **kwargs)

    def execute(self, context) -> None:
        results = super().execute(context)
        failed = failed_checks(results[-1], source=f"task '{self.task_id}' ({self.sql})")
        if failed:
            summary = ", ".join(f"{name}: {count}" for name, count in failed)
            raise AirflowException(
                f"task '{self.task_id}': data-quality checks failed ({summary}) in {self.sql}. The rows stay "
                "as they are for inspection. Fix the source files or the SQL, then clear this task group."
            )
        self.log.info("All checks of %s passed", self.sql)


# Redshift's error for a COPY from a prefix no object has: COPY ends when it finds no file to load.
EMPTY_PREFIX_ERROR = re.compile(r"The specified S3 prefix '([^']*)' does not exist")
FAILED_STATEMENT = re.compile(r"Statement (\S+) terminated with status")


class RedshiftCopyOperator(RedshiftDataOperator):
    """Runs the batch that COPYs a table's files into its staging table. A COPY from a prefix without
    files fails naming the table, the prefix and the fix, instead of the Data API's response dump."""

    def __init__(self, *, target_table: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_table = target_table

    def execute(self, context):
        try:
            return super().execute(context)
        except Exception as error:  # the hook's RedshiftDataQueryFailedError (a ValueError), boto3's errors
            match = FAILED_STATEMENT.search(str(error))
            raise self._diagnosis(match.group(1) if match else None) or error

    def execute_complete(self, context, event=None):
        try:
            return super().execute_complete(context, event)
        except Exception as error:
            raise self._diagnosis((event or {}).get("statement_id")) or error

    def _diagnosis(self, statement_id: str | None) -> AirflowException | None:
        """The empty-prefix failure of statement `statement_id` as a diagnosis (None: another failure)."""
        if not statement_id:
            return None
        try:
            described = self.hook.conn.describe_statement(Id=statement_id)
        except Exception:  # the original failure says more than a failed look at it
            return None
        statements = [described, *described.get("SubStatements", [])]
        errors = [statement.get("Error") for statement in statements]
        matches = [EMPTY_PREFIX_ERROR.search(error) for error in errors if error]
        match = next((found for found in matches if found), None)
        if match is None:
            return None
        prefix = match.group(1)
        return AirflowException(
            f"task '{self.task_id}': table '{self.target_table}' has no files under {prefix} in the "
            f"lakehouse bucket, so COPY loaded nothing (Redshift: {match.group(0)}). Fix: deliver the "
            "table's files to that prefix; for a local run, put sample files at "
            f"tools/sample_data/bucket/{prefix} "
            "(docs/sample_data.md; ./run_tests.sh --fast lists every table without sample data)."
        )


def failed_checks(result: dict, source: str) -> list[tuple[str, int | float | str]]:
    """The (check_name, failures) rows of a Data API GetStatementResult response, failures as the Data API
    gives it: longValue (COUNT, INTEGER), stringValue (NUMERIC: a SUM of DECIMALs), doubleValue, or NULL."""
    columns = tuple(column.get("name") for column in result.get("ColumnMetadata", []))
    if columns != CHECK_COLUMNS:
        raise AirflowException(
            f"{source}: a check query must return the columns {CHECK_COLUMNS}, it returned {columns}. "
            "Fix: SELECT check_name, failures ... WHERE failures > 0 (see sql/redshift/checks/)."
        )
    return [
        (record[0].get("stringValue", ""), _field_value(record[1])) for record in result.get("Records", [])
    ]


def _field_value(field: dict) -> int | float | str:
    return next(
        (field[kind] for kind in ("longValue", "stringValue", "doubleValue") if kind in field), "NULL"
    )


def staging_table(dag_id: str, table: str) -> str:
    """`stage_<table>__<dag_id>`: one staging table per DAG and table.

    Runs of different DAGs (the initial and the incremental load) may overlap and each drops and recreates
    its staging tables; runs of one DAG do not (max_active_runs=1, lakehouse.defaults). Lowercase letters,
    digits and underscores (Redshift folds names to lowercase), at most 127 bytes.
    """
    name = re.sub(r"[^a-z0-9_]", "_", f"stage_{table}__{dag_id}".lower())
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise ValueError(
            f"staging table {name!r} for DAG {dag_id!r} is longer than {MAX_IDENTIFIER_BYTES} bytes, "
            "Redshift's limit for a table name. Fix: shorten the dag_id."
        )
    return name


def copy_merge_check_group(
    table: RedshiftTable,
    source_prefix: str,
    *,
    event_time: str | None = None,
) -> TaskGroup:
    """Task group `<table>`: COPY the files under `source_prefix` into a staging table, merge it into the
    table (one transaction), check the result, and drop the staging table (a teardown: it also runs
    after a failure, and does not hide one).

    `table` is an entry of the Redshift table spec (lakehouse.redshift_tables.load_spec): its schema, name
    and key. `source_prefix` is a key prefix in the lakehouse bucket (lakehouse.layout); INTERVAL_DAY in it
    becomes the day the run's data interval starts. With `event_time` (the row's timestamp column) the
    check also asserts that no staged row is dated after the run's data interval. Tasks that read the
    interval refuse a run without one at once (lakehouse.defaults.require_data_interval, called by the SQL);
    the staging table is the DAG's own (staging_table).
    """
    if not isinstance(table, RedshiftTable):
        raise TypeError(
            f"copy_merge_check_group(table={table!r}): not a table of the Redshift spec. Fix: pass "
            "one of lakehouse.redshift_tables.load_spec(...).tables (a table of dags/redshift/tables.yaml)."
        )
    if event_time is not None and event_time not in table.columns:
        raise ValueError(
            f"copy_merge_check_group({table.name}, event_time={event_time!r}): not a column of {table.ddl}. "
            f"Fix: use one of {list(table.columns)} (usually the table's event_time in the spec)."
        )
    schema = table.schema
    with TaskGroup(group_id=table.name, tooltip=f"COPY -> merge -> check {schema}.{table.name}") as group:
        if group.dag is None:
            raise ValueError(
                f"copy_merge_check_group(table={table.name!r}): call it inside a DAG's `with` block."
            )
        params = {
            "schema": schema,
            "table": table.name,
            "key": table.key,
            "source_prefix": source_prefix,
            "interval_day": INTERVAL_DAY,
            "event_time": event_time,
            "staging_table": staging_table(group.dag.dag_id, table.name),
        }
        stage = redshift_sql(
            "copy_to_staging",
            ["redshift/staging/drop.sql", "redshift/staging/create.sql", "redshift/staging/copy.sql"],
            operator=RedshiftCopyOperator,
            target_table=f"{schema}.{table.name}",
            params=params,
        )
        merge = redshift_sql(
            "merge", ["redshift/merge/delete.sql", "redshift/merge/insert.sql"], params=params
        )
        check = redshift_check("check", "redshift/checks/merged.sql", params=params)
        drop = redshift_sql("drop_staging", "redshift/staging/drop.sql", params=params)
        stage >> merge >> check >> drop.as_teardown(setups=stage)
    return group
