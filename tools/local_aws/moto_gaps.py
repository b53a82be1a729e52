"""AWS API behaviour moto 5.1.10 lacks, added to its in-process backends for the local runs.

- Redshift Data BatchExecuteStatement (a list of SQL files = one call, one transaction on Redshift).
- Redshift Data GetStatementResult: moto answers every query with the same three made-up columns. The
  local AWS runs no SQL, so it answers with the query's own output columns (parsed with sqlglot) and no
  rows: what Redshift returns for a data-quality check when no check failed.
- Athena GetQueryResults: moto answers with no rows; `answers` maps a query's text to the rows the local
  Athena returns for it (tests set them, e.g. the row count a gold table has).
- Glue GetCrawlerMetrics (read by GlueCrawlerOperator after every crawl), and the Arguments of
  StartJobRun, which moto drops (so a job run shows what the DAG passed, as on AWS).
- Redshift COPY from an S3 prefix that no object has: Redshift ends the statement in an error ("COPY will
  terminate if no files are found",
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html; the message is
  Redshift's own: "The specified S3 prefix '<prefix>' does not exist"); moto accepts any SQL.
  `copy_source_error` checks the statement against the local S3, and PendingWork fails it the same way.
- Redshift Data DescribeStatement's `Error` of a failed statement, which moto never returns (the operator
  puts it in its exception, so a failed task says why).
"""

from __future__ import annotations

import json
import re

import sqlglot
from moto.athena.models import AthenaBackend, QueryResults
from moto.glue.responses import GlueResponse
from moto.redshiftdata.models import Statement
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

from local_aws.patches import Patches
from sql_statements import parse_statements


class MotoGaps:
    """Installs the missing APIs while active (a context manager); `answers` are the Athena results."""

    def __init__(self) -> None:
        self.athena_answers: dict[str, list[list[str]]] = {}  # query text -> rows (first row: column names)
        self._patches = Patches()

    def __enter__(self) -> MotoGaps:
        self._patches.set(RedshiftDataAPIServiceResponse, "batch_execute_statement", _batch_execute_statement)
        self._patches.set(RedshiftDataAPIServiceResponse, "get_statement_result", _get_statement_result)
        described = Statement.__iter__

        def with_error(statement):
            yield from described(statement)
            if getattr(statement, "error", None):
                yield "Error", statement.error

        self._patches.set(Statement, "__iter__", with_error)
        self._patches.set(GlueResponse, "get_crawler_metrics", _get_crawler_metrics)
        start_job_run = GlueResponse.start_job_run

        def start_job_run_with_arguments(response):
            body = start_job_run(response)
            job = response.glue_backend.get_job(response.parameters.get("JobName"))
            run_id = json.loads(body)["JobRunId"]
            job.get_job_run(run_id).arguments = response.parameters.get("Arguments") or {}
            return body

        self._patches.set(GlueResponse, "start_job_run", start_job_run_with_arguments)
        answers = self.athena_answers
        original = AthenaBackend.get_query_results

        def get_query_results(backend, exec_id: str):
            execution = backend.executions.get(exec_id)
            if execution is not None and execution.query in answers and exec_id not in backend.query_results:
                backend.query_results[exec_id] = _athena_result(answers[execution.query])
            return original(backend, exec_id)

        self._patches.set(AthenaBackend, "get_query_results", get_query_results)
        return self

    def __exit__(self, *exc) -> None:
        self._patches.undo()


def _athena_result(rows: list[list[str]]) -> QueryResults:
    header = rows[0]
    return QueryResults(
        rows=[{"Data": [{"VarCharValue": value} for value in row]} for row in rows],
        column_info=[{"Name": name, "Label": name, "Type": "varchar"} for name in header],
    )


def _batch_execute_statement(self):
    sqls = self._get_param("Sqls")
    statement = self.redshiftdata_backend.execute_statement(
        cluster_identifier=self._get_param("ClusterIdentifier"),
        database=self._get_param("Database"),
        db_user=self._get_param("DbUser"),
        parameters=self._get_param("Parameters"),
        secret_arn=self._get_param("SecretArn"),
        sql=None,
    )
    statement.sqls = list(sqls)
    statement.sub_statements = [
        {"Id": f"{statement.id}:{number}", "QueryString": sql, "Status": "SUBMITTED"}
        for number, sql in enumerate(sqls, start=1)
    ]
    body = {
        "Id": statement.id,
        "ClusterIdentifier": statement.cluster_identifier,
        "CreatedAt": statement.created_at,
        "Database": statement.database,
        "DbUser": statement.db_user,
    }
    return 200, {}, json.dumps(body)


COPY_FROM_S3 = re.compile(r"^\s*COPY\b[^']*?\bFROM\s+'s3://([^/']+)/([^']*)'", re.IGNORECASE | re.MULTILINE)


def copy_source_error(sql: str, account_id: str) -> str | None:
    """Redshift's error for a COPY whose S3 prefix no object in the local S3 has (None: it has objects,
    or `sql` is no COPY from S3 by prefix)."""
    from moto.s3.models import s3_backends

    match = COPY_FROM_S3.search(sql)
    if match is None or re.search(r"\bMANIFEST\b", sql, re.IGNORECASE):
        return None
    bucket_name, prefix = match.groups()
    bucket = s3_backends[account_id]["global"].buckets.get(bucket_name)
    if bucket is None:
        return "ERROR: S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket"
    if not any(key.startswith(prefix) for key in bucket.keys.keys()):
        return f"ERROR: The specified S3 prefix '{prefix}' does not exist"
    return None


def output_columns(sql: str, dialect: str = "redshift") -> list[str]:
    """The names of the columns a query returns (none for a statement that returns no rows)."""
    try:
        expression = parse_statements(sql, dialect)[-1]
    except (sqlglot.errors.ParseError, IndexError):
        return []
    return list(getattr(expression, "named_selects", None) or [])


def _get_statement_result(self):
    statement_id = self._get_param("Id")
    parent_id, _, number = statement_id.partition(":")
    statement = self.redshiftdata_backend.describe_statement(statement_id=parent_id)
    sqls = getattr(statement, "sqls", None) or [statement.query_string]
    sql = sqls[int(number) - 1] if number else sqls[-1]
    columns = [{"name": name, "label": name, "typeName": "varchar"} for name in output_columns(sql)]
    return 200, {}, json.dumps({"ColumnMetadata": columns, "Records": [], "TotalNumRows": 0})


def _get_crawler_metrics(self):
    names = self._get_param("CrawlerNameList") or list(self.glue_backend.crawlers)
    metrics = []
    for name in names:
        crawler = self.glue_backend.get_crawler(name)
        metrics.append(
            {
                "CrawlerName": crawler.name,
                "TimeLeftSeconds": 0.0,
                "StillEstimating": False,
                "LastRuntimeSeconds": 1.0 if crawler.crawls else 0.0,
                "MedianRuntimeSeconds": 1.0 if crawler.crawls else 0.0,
                "TablesCreated": 0,
                "TablesUpdated": 0,
                "TablesDeleted": 0,
            }
        )
    return json.dumps({"CrawlerMetricsList": metrics})
