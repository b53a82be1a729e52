"""lakehouse.catalog: crawler configurations Glue accepts, and the Athena non-empty check against moto."""

from __future__ import annotations

import json

import pytest
import requests
from airflow.exceptions import AirflowException

import repository
from lakehouse.catalog import AthenaNonEmptyCheckOperator, athena_check_not_empty, crawler_config
from local_aws.server import REGION, MotoServer

ROLE = "arn:aws:iam::123456789012:role/tickit-glue-crawler"
PATHS = ["s3://lake/raw/tickit/sales/", "s3://lake/raw/tickit/event/"]


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def account(moto):
    moto.reset()
    return moto


def test_crawler_config_has_one_s3_target_per_path():
    config = crawler_config("tickit_raw", "tickit_raw_db", PATHS, ROLE, table_prefix="raw_")
    assert config["Name"] == "tickit_raw"
    assert config["Role"] == ROLE
    assert config["DatabaseName"] == "tickit_raw_db"
    assert config["TablePrefix"] == "raw_"
    assert config["Targets"] == {"S3Targets": [{"Path": path} for path in PATHS]}
    assert json.loads(config["Configuration"])["Version"] == 1.0
    assert config["SchemaChangePolicy"]["DeleteBehavior"] == "LOG"


def test_crawler_config_is_a_request_glue_accepts(account):
    glue = account.client("glue")
    glue.create_crawler(**crawler_config("tickit_raw", "tickit_raw_db", PATHS, ROLE))
    crawler = glue.get_crawler(Name="tickit_raw")["Crawler"]
    assert [target["Path"] for target in crawler["Targets"]["S3Targets"]] == PATHS
    assert crawler["Role"] == ROLE
    assert crawler["DatabaseName"] == "tickit_raw_db"


@pytest.mark.parametrize(
    "paths, named",
    [([], "s3_paths"), (["/raw/tickit/sales/"], "/raw/tickit/sales/"), (["raw/tickit/"], "raw/tickit/")],
)
def test_crawler_config_rejects_paths_that_are_not_s3_folders(paths, named):
    with pytest.raises(ValueError, match="crawler 'tickit_raw'") as error:
        crawler_config("tickit_raw", "db", paths, ROLE)
    assert named in str(error.value)


@pytest.mark.parametrize("missing", ["name", "database", "role_arn"])
def test_crawler_config_requires_a_name_a_database_and_a_role(missing):
    given = {"name": "tickit_raw", "database": "db", "role_arn": "arn:aws:iam::1:role/glue", **{missing: ""}}
    with pytest.raises(ValueError, match=rf"{missing}=''.*Fix: pass all three"):
        crawler_config(given["name"], given["database"], PATHS, given["role_arn"])


def queue_athena_result(server: MotoServer, column: str, values: list[str]) -> None:
    """The next Athena query in moto returns a header row and one row per value (as Athena does)."""
    rows = [{"Data": [{"VarCharValue": column}]}] + [{"Data": [{"VarCharValue": v}]} for v in values]
    payload = {
        "account_id": "123456789012",
        "region": REGION,
        "results": [{"rows": rows, "column_info": [{"Name": column, "Type": "bigint"}]}],
    }
    response = requests.post(f"{server.endpoint_url}/moto-api/static/athena/query-results", json=payload)
    response.raise_for_status()


def check_operator(**kwargs) -> AthenaNonEmptyCheckOperator:
    # do_xcom_push=False: no task instance to store the console link in, outside a DAG run.
    operator = athena_check_not_empty(
        "check_not_empty", "SELECT count(*) AS row_count FROM sales", "gold", do_xcom_push=False, **kwargs
    )
    operator.workgroup, operator.output_location = "primary", "s3://results/athena/"  # rendered values
    operator.sleep_time = 0
    return operator


def test_check_passes_when_the_count_is_positive(account):
    queue_athena_result(account, "row_count", ["42"])
    query_execution_id = check_operator().execute({})
    assert account.client("athena").get_query_execution(QueryExecutionId=query_execution_id)


def test_the_check_asks_athena_for_the_header_row_and_the_first_data_row(account):
    """Athena returns at most MaxResults rows, the repeated header first (moto returns every row whatever it
    is told): fewer than 2 never reaches the first value, and the check would always fail."""
    queue_athena_result(account, "row_count", ["42"])
    operator, asked = check_operator(), []
    operator.hook.conn.meta.events.register(
        "provide-client-params.athena.GetQueryResults", lambda params, **_: asked.append(params["MaxResults"])
    )

    operator.execute({})

    assert asked and min(asked) >= 2, asked


@pytest.mark.parametrize("values, reported", [(["0"], "'0'"), ([], "no row")])
def test_check_fails_on_a_zero_count_or_no_row(account, values, reported):
    queue_athena_result(account, "row_count", values)
    with pytest.raises(AirflowException, match="check_not_empty") as error:
        check_operator().execute({})
    assert reported in str(error.value)
    assert "database 'gold'" in str(error.value)


@pytest.mark.parametrize(
    "prefix", ["gold/tickit/sales_by_date", "s3://lake/gold/", "/gold/tickit/sales_by_date/"]
)
def test_ctas_group_rejects_a_location_that_is_not_a_bucket_folder(prefix):
    from airflow.sdk import DAG

    from lakehouse.catalog import athena_ctas_group

    with DAG(dag_id="ctas_probe", schedule=None), pytest.raises(ValueError) as error:
        athena_ctas_group("sales_by_date", "athena/gold/sales_by_date.sql", "gold", prefix)
    # the call the DAG file makes, not the task inside the group that would refuse it next
    assert str(error.value).startswith(f"athena_ctas_group('sales_by_date'): location_prefix {prefix!r} ")


# MWAA sets operators.default_deferrable=True for environments that run a triggerer; the provider reads it as
# the default of AthenaOperator's `deferrable` argument when its module is imported. A fresh interpreter with
# the setting in its environment is the process the DAG processor and the worker are.
DEFERRABLE_PROBE = """
import json, sys
from airflow.exceptions import AirflowException, TaskDeferred
from lakehouse.catalog import athena_check_not_empty
operator = athena_check_not_empty(
    "check_not_empty", "SELECT count(*) AS row_count FROM sales", "gold", do_xcom_push=False
)
operator.workgroup, operator.output_location, operator.sleep_time = "primary", "s3://results/athena/", 0
try:
    operator.execute({})
    outcome = "passed"
except TaskDeferred:
    outcome = "deferred: the check never ran"
except AirflowException as error:
    outcome = str(error)
print(json.dumps({"deferrable": operator.deferrable, "outcome": outcome}))
"""


@pytest.mark.slow  # a fresh interpreter importing Airflow and the amazon provider: about 7 s
def test_check_runs_and_fails_on_an_empty_answer_under_default_deferrable(account, repo_root):
    import os
    import subprocess
    import sys

    queue_athena_result(account, "row_count", ["0"])
    env = {
        **os.environ,
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        "PYTHONPATH": os.pathsep.join(map(str, repository.IMPORT_ROOTS)),
    }
    probe = subprocess.run(
        [sys.executable, "-c", DEFERRABLE_PROBE], env=env, cwd=repo_root, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert "task 'check_not_empty'" in result["outcome"] and "returned '0'" in result["outcome"], result
    assert result["deferrable"] is False


@pytest.mark.parametrize("prefix", ["", "/", "unload/tickit", "/unload/tickit/", "s3://lake/unload/"])
def test_clearing_anything_but_a_bucket_folder_is_refused(prefix):
    from lakehouse.catalog import clear_s3_prefix

    with pytest.raises(ValueError, match="clear_unload") as error:
        clear_s3_prefix("clear_unload", prefix)
    assert repr(prefix) in str(error.value) and "Fix:" in str(error.value)


# crawl(): the task ends with the crawl. moto runs a crawl forever; local_aws.PendingWork finishes it as Glue
# does (running at the first look, done at the next), FAILED when told to fail; MotoGaps adds the
# GetCrawlerMetrics the operator reads after the crawl.


def _crawl_task():
    from lakehouse.catalog import crawl

    task = crawl("crawl_raw", crawler_config("tickit_raw", "tickit_raw_db", PATHS, ROLE))
    task.poll_interval = 0  # only the time between two looks at the crawler
    return task


def test_a_failed_crawl_fails_the_crawl_task(account):
    """A task that only started the crawl would succeed, and the next task would read a catalog the crawl
    did not write."""
    from botocore.exceptions import WaiterError

    from local_aws.moto_gaps import MotoGaps
    from local_aws.pending_work import PendingWork

    with MotoGaps(), PendingWork(failing=True):
        with pytest.raises(WaiterError, match="LastCrawl.Status == 'FAILED'"):
            _crawl_task().execute({})


def test_the_crawl_task_ends_after_the_crawl(account):
    from local_aws.moto_gaps import MotoGaps
    from local_aws.pending_work import PendingWork

    with MotoGaps(), PendingWork():
        assert _crawl_task().execute({}) == "tickit_raw"
        crawler = account.client("glue").get_crawler(Name="tickit_raw")["Crawler"]
    assert crawler["State"] == "READY", "the task ended while the crawl still ran"


def test_the_check_reads_the_first_column_of_a_result_of_several():
    """`SELECT count(*) AS row_count, max(saletime) ...`: the count decides, whatever follows it. The
    response is GetQueryResults' shape: the header row, then the data rows."""
    from lakehouse.catalog import first_result_value

    columns = [{"Name": "row_count", "Type": "bigint"}, {"Name": "latest", "Type": "varchar"}]
    rows = [["row_count", "latest"], ["0", "2008-12-31 23:59:00"]]
    results = {
        "ResultSet": {
            "Rows": [{"Data": [{"VarCharValue": value} for value in row]} for row in rows],
            "ResultSetMetadata": {"ColumnInfo": columns},
        }
    }
    assert first_result_value(results) == "0"


@pytest.mark.parametrize(
    "rows, first",
    [([["row_count"], ["7"], ["8"]], "7"), ([["7"]], "7"), ([["row_count"]], None)],
    ids=["header-then-data", "data-only", "header-only"],
)
def test_the_first_row_is_skipped_only_when_it_repeats_the_column_names(rows, first):
    from lakehouse.catalog import first_result_value

    results = {
        "ResultSet": {
            "Rows": [{"Data": [{"VarCharValue": value} for value in row]} for row in rows],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": "row_count", "Type": "bigint"}]},
        }
    }
    assert first_result_value(results) == first
