"""Glue Data Catalog and Athena building blocks: crawler configs, crawl tasks, queries, a non-empty check.

Every value may be a Jinja template (`{{ var.value.NAME }}`): the crawler `config` and the Athena `query`,
`database`, `workgroup` and `output_location` are templated fields, rendered at run time.

    crawl(task_id="crawl_raw", config=crawler_config(
        "tickit_raw", "{{ var.value.glue_database_raw }}",
        [layout.s3_uri(layout.BUCKET_TEMPLATE, layout.full_prefix("sales"))],
        "{{ var.value.glue_crawler_role_arn }}"))
    athena_check_not_empty(task_id="check_gold", query="athena/checks/row_count.sql", database="...")
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.amazon.aws.operators.s3 import S3DeleteObjectsOperator
from airflow.sdk import TaskGroup

from lakehouse import layout
from lakehouse.defaults import AWS_CONN_ID

ATHENA_WORKGROUP = "{{ var.value.athena_workgroup }}"
ATHENA_RESULTS = "{{ var.value.athena_results_s3_uri }}"

# Crawl everything: an incremental crawl (new folders only) misses files rewritten in place, and a few table
# folders are cheap to crawl. New columns update the table; vanished files are logged, never deleted.
_SCHEMA_CHANGE_POLICY = {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
_RECRAWL_POLICY = {"RecrawlBehavior": "CRAWL_EVERYTHING"}
# Partitions inherit the table's schema, so a late file with an extra column does not split the table.
_CRAWLER_CONFIGURATION = json.dumps(
    {"Version": 1.0, "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}},
    sort_keys=True,
)


def crawler_config(
    name: str,
    database: str,
    s3_paths: Iterable[str],
    role_arn: str,
    *,
    table_prefix: str = "",
    description: str | None = None,
) -> dict[str, Any]:
    """The Glue CreateCrawler/UpdateCrawler request for a crawler of `s3_paths` into `database`.

    Each path becomes one S3 target and (for a folder of files of one schema) one table named after the
    folder, prefixed with `table_prefix`. GlueCrawlerOperator creates the crawler or updates it to this.
    """
    paths = list(s3_paths)
    if not name or not database or not role_arn:
        raise ValueError(
            f"crawler_config(name={name!r}, database={database!r}, role_arn={role_arn!r}): name, database "
            "and role_arn are required. Fix: pass all three (templates such as '{{ var.value.x }}' are fine)."
        )
    bad = [path for path in paths if not path.startswith("s3://")]
    if not paths or bad:
        raise ValueError(
            f"crawler '{name}': s3_paths must be a non-empty list of s3:// URIs, got {paths!r}. Fix: pass "
            f"folders such as {layout.s3_uri(layout.BUCKET_TEMPLATE, layout.full_prefix('sales'))!r}."
        )
    config = {
        "Name": name,
        "Role": role_arn,
        "DatabaseName": database,
        "Description": description or f"Crawls {len(paths)} S3 folder(s) into the Glue database {database}.",
        "Targets": {"S3Targets": [{"Path": path} for path in paths]},
        "SchemaChangePolicy": dict(_SCHEMA_CHANGE_POLICY),
        "RecrawlPolicy": dict(_RECRAWL_POLICY),
        "Configuration": _CRAWLER_CONFIGURATION,
    }
    if table_prefix:
        config["TablePrefix"] = table_prefix
    return config


def crawl(task_id: str, config: dict[str, Any], **kwargs: Any) -> GlueCrawlerOperator:
    """Creates or updates the crawler from `config` (see crawler_config), runs it and waits for it."""
    kwargs.setdefault("poll_interval", 15)
    return GlueCrawlerOperator(
        task_id=task_id, config=config, aws_conn_id=AWS_CONN_ID, wait_for_completion=True, **kwargs
    )


def athena_query(task_id: str, query: str, database: str, **kwargs: Any) -> AthenaOperator:
    """Runs one Athena statement (a .sql path under sql/, or SQL text) and waits for it to succeed.

    The workgroup and the results location come from the Variables athena_workgroup and
    athena_results_s3_uri; the task returns the query execution id (XCom return_value).
    """
    return _athena(AthenaOperator, task_id, query, database, **kwargs)


def _athena(operator: type[AthenaOperator], task_id: str, query: str, database: str, **kwargs: Any):
    kwargs.setdefault("sleep_time", 10)
    return operator(
        task_id=task_id,
        query=query,
        database=database,
        workgroup=ATHENA_WORKGROUP,
        output_location=ATHENA_RESULTS,
        aws_conn_id=AWS_CONN_ID,
        **kwargs,
    )


class AthenaNonEmptyCheckOperator(AthenaOperator):
    """Runs an Athena query and fails unless it returns a row whose first value is neither 0 nor NULL.

    Fits both shapes of check: `SELECT count(*) ...` (fails on 0) and `SELECT ... LIMIT 1` (fails on no row).
    Never deferrable: a deferred AthenaOperator ends in `execute_complete` on the triggerer's event, so the
    check in `execute` would never run under MWAA's `operators.default_deferrable = True`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deferrable=False, **kwargs)

    def execute(self, context) -> str:
        query_execution_id = super().execute(context)
        results = self.hook.get_query_results(query_execution_id, max_results=2)
        first_value = first_result_value(results)
        if first_value in (None, "", "0"):
            raise AirflowException(
                f"task '{self.task_id}': the check query on database '{self.database}' returned "
                f"{'no row' if first_value is None else repr(first_value)} (query execution "
                f"{query_execution_id}). The table it reads is empty. Fix: look at the task that fills it."
            )
        self.log.info("Check passed: first value %s", first_value)
        return query_execution_id


def first_result_value(results: dict | None) -> str | None:
    """The first column of the first data row of an Athena GetQueryResults response, or None.

    Athena repeats the column names as the first row of a SELECT's result set; that row is skipped.
    """
    if not results:
        return None
    rows = results.get("ResultSet", {}).get("Rows", [])
    columns = results.get("ResultSet", {}).get("ResultSetMetadata", {}).get("ColumnInfo", [])
    names = [column.get("Name") for column in columns]
    cells = [[datum.get("VarCharValue") for datum in row.get("Data", [])] for row in rows]
    if cells and names and cells[0] == names:
        cells = cells[1:]
    if not cells or not cells[0]:
        return None
    return cells[0][0]


def athena_check_not_empty(task_id: str, query: str, database: str, **kwargs: Any) -> AthenaOperator:
    """Runs the check `query` (e.g. 'athena/checks/row_count.sql') and fails when it finds nothing."""
    return _athena(AthenaNonEmptyCheckOperator, task_id, query, database, **kwargs)


def clear_s3_prefix(task_id: str, prefix: str) -> S3DeleteObjectsOperator:
    """Deletes every object under `prefix`, a folder of the lakehouse bucket (nothing there is fine).

    For output a run replaces as a whole (a CTAS location, an UNLOAD target), so nothing of an earlier run
    survives that this run does not write again.
    """
    if not prefix.strip("/") or not prefix.endswith("/") or prefix.startswith(("/", "s3://")):
        raise ValueError(
            f"clear_s3_prefix('{task_id}'): prefix {prefix!r} must be a folder of the lakehouse bucket "
            "(an empty one would empty the bucket). "
            f"Fix: write it like {layout.gold_prefix('sales_by_date')!r}."
        )
    return S3DeleteObjectsOperator(
        task_id=task_id, bucket=layout.BUCKET_TEMPLATE, prefix=prefix, aws_conn_id=AWS_CONN_ID
    )


def athena_ctas_group(table: str, ctas_sql: str, database: str, location_prefix: str) -> TaskGroup:
    """drop_table -> clear_location -> create_table -> check_not_empty: rebuilds one Athena CTAS table.

    A CTAS fails when its table exists or its location holds files, so both go first. The SQL files see
    `params.table` and `params.location_prefix` (the table's folder in the lakehouse bucket, ending in '/');
    `database` is the query context, where the table is created.
    """
    if not location_prefix.endswith("/") or location_prefix.startswith(("/", "s3://")):
        raise ValueError(
            f"athena_ctas_group('{table}'): location_prefix {location_prefix!r} must be a folder of the "
            f"lakehouse bucket. Fix: write it like {layout.gold_prefix('sales_by_date')!r}."
        )
    params = {"table": table, "location_prefix": location_prefix}
    with TaskGroup(group_id=table, tooltip=f"Athena CTAS {table}") as group:
        drop_table = athena_query("drop_table", "athena/drop_table.sql", database, params=params)
        clear_location = clear_s3_prefix("clear_location", location_prefix)
        create_table = athena_query("create_table", ctas_sql, database, params=params)
        check = athena_check_not_empty(
            "check_not_empty", "athena/checks/row_count.sql", database, params=params
        )
        drop_table >> clear_location >> create_table >> check
    return group
