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
from lakehouse.tickit import PRIMARY_KEYS
from tests.dags.rendering import manual_run, render_task, variable_values

REGION = "us-east-1"


def _dag(dag_id: str, repo_root) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, **dag_settings())


def test_group_stages_merges_checks_and_drops_in_order(repo_root):
    with _dag("redshift__99_group", repo_root) as dag:
        copy_merge_check_group("sales", "raw/tickit_incremental/sales/ds={ds}/", event_time="saletime")
    tasks = dag.task_dict
    assert set(tasks) == {"sales.copy_to_staging", "sales.merge", "sales.check", "sales.drop_staging"}
    assert tasks["sales.merge"].upstream_task_ids == {"sales.copy_to_staging"}
    assert tasks["sales.check"].upstream_task_ids == {"sales.merge"}
    assert "sales.check" in tasks["sales.drop_staging"].upstream_task_ids
    assert tasks["sales.drop_staging"].is_teardown, "staging must be dropped after a failure too"
    assert "sales.copy_to_staging" in tasks["sales.drop_staging"].upstream_task_ids  # its setup
    params = tasks["sales.merge"].params
    assert (params["key"], params["event_time"]) == (PRIMARY_KEYS["sales"], "saletime")
    # One batch each (one transaction), in this order: a merge that inserted before deleting would delete
    # the rows it just inserted.
    assert tasks["sales.copy_to_staging"].sql == [
        "redshift/staging/drop.sql",
        "redshift/staging/create.sql",
        "redshift/staging/copy.sql",
    ]
    assert tasks["sales.merge"].sql == ["redshift/merge/delete.sql", "redshift/merge/insert.sql"]


def test_group_of_an_unknown_table_names_the_fix(repo_root):
    with _dag("redshift__98_group", repo_root):
        with pytest.raises(ValueError, match=r"table='salez'.*lakehouse/tickit.py"):
            copy_merge_check_group("salez", "raw/tickit/salez/")


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
        copy_merge_check_group("sales", "raw/tickit/sales/")
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
    assert set(incremental) == {"listing", "sales"}
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
