"""lakehouse.redshift: the copy -> merge -> check task group and the check operator (against moto)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from airflow.exceptions import AirflowException
from airflow.sdk import DAG
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.exceptions import ValidationException
from moto.redshiftdata.models import ColumnMetadata, Record, StatementResult, redshiftdata_backends
from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

from lakehouse.defaults import dag_settings
from lakehouse.redshift import copy_merge_check_group, failed_checks, redshift_check
from sample_data.bucket import redshift_spec
from tests.dags.rendering import manual_run, render_task, variable_values

REGION = "us-east-1"
TICKIT = {table.name: table for table in redshift_spec().tables}


def _dag(dag_id: str, repo_root) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, **dag_settings())


def test_group_stages_merges_checks_and_drops_in_order(repo_root):
    with _dag("redshift__99_group", repo_root) as dag:
        copy_merge_check_group(
            TICKIT["sales"], "raw/tickit_incremental/sales/ds={ds}/", event_time="saletime"
        )
    tasks = dag.task_dict
    assert set(tasks) == {"sales.copy_to_staging", "sales.merge", "sales.check", "sales.drop_staging"}
    assert tasks["sales.merge"].upstream_task_ids == {"sales.copy_to_staging"}
    assert tasks["sales.check"].upstream_task_ids == {"sales.merge"}
    assert "sales.check" in tasks["sales.drop_staging"].upstream_task_ids
    assert tasks["sales.drop_staging"].is_teardown, "staging must be dropped after a failure too"
    assert "sales.copy_to_staging" in tasks["sales.drop_staging"].upstream_task_ids  # its setup
    params = tasks["sales.merge"].params
    assert (params["key"], params["event_time"]) == ("salesid", "saletime")
    # One batch each (one transaction), in this order: a merge that inserted before deleting would delete
    # the rows it just inserted.
    assert tasks["sales.copy_to_staging"].sql == [
        "redshift/staging/drop.sql",
        "redshift/staging/create.sql",
        "redshift/staging/copy.sql",
    ]
    assert tasks["sales.merge"].sql == ["redshift/merge/delete.sql", "redshift/merge/insert.sql"]


def test_group_of_a_table_name_instead_of_a_spec_table_names_the_fix(repo_root):
    with _dag("redshift__98_group", repo_root):
        with pytest.raises(TypeError, match=r"table='sales'.*Fix: pass one of .*dags/redshift/tables.yaml"):
            copy_merge_check_group("sales", "raw/tickit/sales/")


def test_group_with_an_event_time_the_table_lacks_names_the_columns(repo_root):
    with _dag("redshift__98_group", repo_root):
        with pytest.raises(
            ValueError, match=r"event_time='listtime'.*not a column of redshift/ddl/sales.sql"
        ):
            copy_merge_check_group(TICKIT["sales"], "raw/tickit/sales/", event_time="listtime")


def _result(columns: list[str], rows: list[tuple]) -> dict:
    return dict(
        StatementResult(
            [dict(ColumnMetadata(None, False, True, name, False)) for name in columns],
            [
                [dict(Record(**{"string_value" if isinstance(v, str) else "long_value": v})) for v in row]
                for row in rows
            ],
            len(rows),
        )
    )


def test_failed_checks_reads_data_api_records():
    result = _result(["check_name", "failures"], [("duplicate_keys", 3), ("staging_empty", 1)])
    assert failed_checks(result, "t") == [("duplicate_keys", 3), ("staging_empty", 1)]
    assert failed_checks(_result(["check_name", "failures"], []), "t") == []


def test_failed_checks_read_failures_of_every_numeric_type_the_data_api_returns():
    """COUNT(*) arrives as longValue, a NUMERIC (a SUM of DECIMALs) as stringValue, a FLOAT as doubleValue."""
    fields = [{"longValue": 0}, {"stringValue": "12.50"}, {"doubleValue": 0.5}, {"isNull": True}]
    result = _result(["check_name", "failures"], [])
    result["Records"] = [[{"stringValue": f"check_{n}"}, field] for n, field in enumerate(fields)]

    assert failed_checks(result, "t") == [
        ("check_0", 0),
        ("check_1", "12.50"),
        ("check_2", 0.5),
        ("check_3", "NULL"),
    ]


def test_failed_checks_rejects_a_query_of_another_shape():
    with pytest.raises(AirflowException, match=r"task x.*\('check_name', 'failures'\).*\('n',\)"):
        failed_checks(_result(["n"], [(1,)]), "task x")


# A statement runs a while on AWS: the first DescribeStatement after submitting shows it running, the
# second finished. Its result can be fetched only once it finished ("the temporarily cached result of an SQL
# statement": https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html).
FINISHED_AFTER_DESCRIBES = 2


@pytest.fixture
def redshift_data(monkeypatch):
    """moto's Redshift Data API, with statements that finish after two DescribeStatement calls (moto's
    finish at once, more lenient than AWS) and then return the rows a test sets.

    The response handler is pinned to moto's own (backend result, serialised), whatever else patched it.
    """
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws", "extra": {"region_name": "us-east-1"}}',
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        backend = redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION]
        answer = {}
        run, describe = backend.execute_statement, backend.describe_statement
        describes: dict[str, int] = {}

        def submitted(**kwargs):
            statement = run(**kwargs)
            statement.status = "SUBMITTED"
            return statement

        def described(statement_id):
            statement = describe(statement_id)
            describes[statement_id] = describes.get(statement_id, 0) + 1
            if describes[statement_id] >= FINISHED_AFTER_DESCRIBES:
                statement.status = "FINISHED"
            return statement

        def result(statement_id):
            if describe(statement_id).status != "FINISHED":
                raise ValidationException(f"Query {statement_id} has not finished: no result to fetch yet")
            return answer["result"]

        monkeypatch.setattr(backend, "execute_statement", submitted)
        monkeypatch.setattr(backend, "describe_statement", described)
        monkeypatch.setattr(backend, "get_statement_result", result)

        def statement_result(response):
            result = response.redshiftdata_backend.get_statement_result(
                statement_id=response._get_param("Id")
            )
            return 200, {}, json.dumps(dict(result))

        monkeypatch.setattr(RedshiftDataAPIServiceResponse, "get_statement_result", statement_result)
        yield answer, backend


def _check_task(repo_root):
    with _dag("redshift__97_check", repo_root) as dag:
        task = redshift_check("check", "SELECT check_name, failures FROM checks WHERE failures > 0")
    task.cluster_identifier, task.database, task.db_user = "tickit-cluster", "dev", "awsuser"
    task.poll_interval = 0.01  # the statements finish after two polls: no need to wait 5 s between them
    return dag, task


def test_check_passes_when_no_check_fails(redshift_data, repo_root):
    answer, backend = redshift_data
    answer["result"] = StatementResult(*_result(["check_name", "failures"], []).values())
    _, task = _check_task(repo_root)
    task.execute({})
    (statement,) = backend.statements.values()
    assert statement.query_string.startswith("SELECT check_name, failures")


def test_statements_go_to_the_cluster_database_and_user_of_the_variables(redshift_data, repo_root):
    """The connection is templated from the Variables and rendered at run time: every task of the group
    renders its own three, and the check's statement reaches the Data API with them."""
    answer, backend = redshift_data
    answer["result"] = StatementResult(*_result(["check_name", "failures"], []).values())
    with _dag("redshift__96_connection", repo_root) as dag:
        copy_merge_check_group(TICKIT["sales"], "raw/tickit/sales/")
    connection = {
        "redshift_cluster_id": "tickit-a",
        "redshift_database": "lake_b",
        "redshift_db_user": "loader_c",
    }
    run = manual_run(dag, datetime(2024, 3, 2, tzinfo=timezone.utc))
    rendered = {
        task.task_id: render_task(task, run, {**variable_values(), **connection}) for task in dag.tasks
    }
    expected = tuple(connection.values())
    for task_id, task in rendered.items():
        assert (task.cluster_identifier, task.database, task.db_user) == expected, task_id

    rendered["sales.check"].poll_interval = 0.01
    rendered["sales.check"].execute({})

    (statement,) = backend.statements.values()
    assert (statement.cluster_identifier, statement.database, statement.db_user) == expected
    assert "staged_rows_not_in_target" in statement.query_string


def test_check_fails_naming_the_failed_checks(redshift_data, repo_root):
    answer, _ = redshift_data
    answer["result"] = StatementResult(*_result(["check_name", "failures"], [("duplicate_keys", 2)]).values())
    _, task = _check_task(repo_root)
    with pytest.raises(AirflowException, match=r"task 'check'.*duplicate_keys: 2"):
        task.execute({})


def _staging_tables(dag) -> dict[str, set[str]]:
    """{table: the staging tables its copy, merge, check and drop tasks name} for the DAG's groups."""
    from gate.run_contexts import manual_run
    from tests.dags.rendering import render_task

    run = manual_run(dag, datetime(2024, 3, 2, tzinfo=timezone.utc))
    found: dict[str, set[str]] = {}
    for task in dag.tasks:
        if "." not in task.task_id:
            continue
        sql = render_task(task, run).sql
        text = "\n".join(sql) if isinstance(sql, (list, tuple)) else sql
        found.setdefault(task.task_id.split(".")[0], set()).update(re.findall(r"tickit\.(stage_\w+)", text))
    return found


def test_the_initial_and_the_incremental_load_never_share_a_staging_table(loaded):
    """Runs of redshift__02 and redshift__03 can overlap: each drops and recreates its staging tables."""
    initial = _staging_tables(loaded.dags["redshift__02_initial_load"])
    incremental = _staging_tables(loaded.dags["redshift__03_incremental_load"])
    assert set(incremental) == {table.name for table in redshift_spec().incremental} >= {"listing", "sales"}
    for table, names in incremental.items():
        assert len(names) == 1 and len(initial[table]) == 1, (table, names, initial[table])
        assert names != initial[table], f"both DAGs stage {table} in {names}"
    for dag_id in ("redshift__02_initial_load", "redshift__03_incremental_load"):
        assert loaded.dags[dag_id].max_active_runs == 1, "runs of one DAG must not overlap either"


def test_a_staging_table_name_is_a_redshift_identifier():
    from lakehouse.redshift import MAX_IDENTIFIER_BYTES, staging_table

    assert (
        staging_table("redshift__03_incremental_load", "sales")
        == "stage_sales__redshift__03_incremental_load"
    )
    assert staging_table("redshift.x-Y", "sales") == "stage_sales__redshift_x_y"
    longest = "d" * (MAX_IDENTIFIER_BYTES - len("stage_sales__"))
    assert len(staging_table(longest, "sales")) == MAX_IDENTIFIER_BYTES
    with pytest.raises(ValueError, match=r"longer than 127 bytes.*Fix: shorten the dag_id"):
        staging_table(longest + "d", "sales")


# A COPY from a prefix without files: the Data API's answers are stubbed with botocore's Stubber (the real
# service model), the operator and the hook run as they do on MWAA.

EMPTY = "raw/tickit/sales/"
REDSHIFT_EMPTY_PREFIX = f"ERROR: The specified S3 prefix '{EMPTY}' does not exist"


@pytest.fixture
def copy_task(monkeypatch, repo_root):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AIRFLOW_CONN_AWS_DEFAULT": '{"conn_type": "aws", "extra": {"region_name": "us-east-1"}}',
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with _dag("redshift__96_copy", repo_root) as dag:
        copy_merge_check_group(TICKIT["sales"], EMPTY)
    task = dag.task_dict["sales.copy_to_staging"]
    task.cluster_identifier, task.database, task.db_user = "tickit-cluster", "dev", "awsuser"
    task.sql, task.poll_interval = [
        "DROP TABLE x",
        "CREATE TABLE x (LIKE y)",
        f"COPY x FROM 's3://b/{EMPTY}'",
    ], 0
    return task


def _failed_batch(error: str) -> dict:
    """DescribeStatement of a failed batch: the failing sub-statement has the error, the rest are aborted."""
    return {
        "Id": "batch-1",
        "Status": "FAILED",
        "Error": error,
        "SubStatements": [
            {"Id": "batch-1:1", "Status": "FINISHED"},
            {"Id": "batch-1:2", "Status": "FINISHED"},
            {"Id": "batch-1:3", "Status": "FAILED", "Error": error},
        ],
    }


def _stubbed(task, *described: dict, sent: bool = True):
    """`task`'s Data API client, answering the batch (unless `sent` before) and each DescribeStatement."""
    from botocore.stub import ANY, Stubber

    stubber = Stubber(task.hook.conn)
    if sent:
        stubber.add_response(
            "batch_execute_statement",
            {"Id": "batch-1"},
            {"Sqls": task.sql, **{k: ANY for k in ("ClusterIdentifier", "Database", "DbUser", "WithEvent")}},
        )
    for response in described:
        stubber.add_response("describe_statement", response, {"Id": "batch-1"})
    return stubber


def test_copy_from_an_empty_prefix_names_the_table_the_prefix_and_the_fix(copy_task):
    failed = _failed_batch(REDSHIFT_EMPTY_PREFIX)
    with _stubbed(copy_task, failed, failed) as stubber, pytest.raises(AirflowException) as error:
        copy_task.execute({})
    stubber.assert_no_pending_responses()
    message = str(error.value)
    assert message.startswith(
        f"task 'sales.copy_to_staging': table 'tickit.sales' has no files under {EMPTY} "
    )
    assert REDSHIFT_EMPTY_PREFIX.removeprefix("ERROR: ") in message
    assert "Fix: deliver the table's files to that prefix; for a local run, put sample files at " in message
    assert f"tools/sample_data/bucket/{EMPTY}" in message


def test_a_deferred_copy_from_an_empty_prefix_names_the_table_too(copy_task):
    """On MWAA (operators.default_deferrable) the failure comes back through execute_complete."""
    event = {
        "status": "error",
        "message": "Statement batch-1 terminated with status FAILED.",
        "statement_id": "batch-1",
    }
    with _stubbed(copy_task, _failed_batch(REDSHIFT_EMPTY_PREFIX)) as stubber:
        stubber._queue.popleft()  # the batch was sent before the deferral
        with pytest.raises(
            AirflowException, match=r"table 'tickit.sales' has no files under raw/tickit/sales/"
        ):
            copy_task.execute_complete({}, event)


def test_another_copy_failure_is_raised_as_it_is(copy_task):
    failed = _failed_batch(
        "ERROR: Load into table 'x' failed. Check 'stl_load_errors' system table for details."
    )
    with _stubbed(copy_task, failed, failed), pytest.raises(Exception) as error:
        copy_task.execute({})
    assert "stl_load_errors" in str(error.value) and "has no files" not in str(error.value)


def test_a_failed_look_at_the_failed_statement_raises_the_original_failure(copy_task):
    """The diagnosis is best effort: when DescribeStatement itself fails, the deferred failure is raised."""
    from botocore.stub import Stubber

    event = {
        "status": "error",
        "message": "Statement batch-1 terminated with status FAILED.",
        "statement_id": "batch-1",
    }
    stubber = Stubber(copy_task.hook.conn)
    stubber.add_client_error(
        "describe_statement",
        service_error_code="InternalServerException",
        service_message="The service is unavailable",
        expected_params={"Id": "batch-1"},
    )
    with stubber, pytest.raises(AirflowException) as error:
        copy_task.execute_complete({}, event)
    stubber.assert_no_pending_responses()
    assert str(error.value) == "context: {}, error message: Statement batch-1 terminated with status FAILED."
