"""The local AWS harness itself: what it answers, how it fails, and that a stuck wait cannot hang a run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from compat import amazon as amazon_compat
from local_aws.moto_gaps import output_columns
from local_aws.seed import read_variables


def test_a_query_result_has_the_columns_of_the_outer_select():
    check = (
        "SELECT check_name, failures FROM (SELECT 'a' AS check_name, 1 AS failures) AS c WHERE failures > 0"
    )
    assert output_columns(check) == ["check_name", "failures"]
    assert output_columns("SELECT COUNT(*) AS n FROM tickit.sales") == ["n"]


def test_a_statement_without_rows_has_no_columns():
    assert output_columns("CREATE TABLE IF NOT EXISTS tickit.users (userid INTEGER)") == []


def test_an_unreadable_variables_file_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "variables.json"
    bad.write_text(json.dumps({"lakehouse_bucket": "just-a-string"}))
    with pytest.raises(ValueError, match=r"variables\.json: cannot read the Airflow Variables.*Fix:"):
        read_variables(bad)


def test_the_checked_in_variables_file_reads():
    variables = read_variables()
    assert variables["sns_alert_topic_arn"].startswith("arn:aws:sns:")


@pytest.mark.slow
def test_an_unknown_dag_id_names_the_dags_there_are(local_aws_account):
    with pytest.raises(KeyError, match=r"no DAG 'redshift__99_missing'.*redshift__01_create_tables"):
        local_aws_account.load("redshift__99_missing")


@pytest.mark.slow
def test_a_date_before_the_start_date_is_refused(aws):
    from gate.run_contexts import manual_run

    dag = aws.load("redshift__01_create_tables")
    with pytest.raises(ValueError, match="before the DAG's start_date"):
        aws.run_dag(dag, manual_run(dag, datetime(2000, 1, 1, tzinfo=timezone.utc)))


@pytest.mark.slow
def test_work_that_never_finishes_fails_the_task_at_its_execution_timeout(aws):
    from local_aws.run import make_local

    aws.pending.completing = False  # plain moto: the statement stays STARTED forever
    dag = aws.load("redshift__01_create_tables")
    make_local(dag, task_timeout=timedelta(seconds=2))

    result = aws.run_dag(dag, aws.normal_run(dag))

    assert result.state == "failed", result.summary()
    assert result.task_states == {"create_schema_and_tables": "failed"}
    statements = aws.client("redshift-data")
    (sqls,) = aws.redshift_statements()
    from sample_data.bucket import redshift_spec

    assert len(sqls) == 1 + len(redshift_spec().tables)  # the schema, then each table of the spec
    from moto.redshiftdata.models import redshiftdata_backends

    (statement,) = redshiftdata_backends["123456789012"]["us-east-1"].statements.values()
    # The provider cancels the statement it was waiting for (amazon 9.34) or leaves it running (9.12).
    expected = "ABORTED" if amazon_compat.redshift_data_cancels_on_kill() else "STARTED"
    assert statements.describe_statement(Id=statement.id)["Status"] == expected
    assert [alert.subject for alert in aws.alerts()] == ["MWAA: redshift__01_create_tables failed"]


def _copy(aws, prefix: str) -> str:
    bucket, role = aws.variables["lakehouse_bucket"], aws.variables["redshift_iam_role_arn"]
    return f"COPY tickit.stage_sales\nFROM 's3://{bucket}/{prefix}'\nIAM_ROLE '{role}'\nDELIMITER '|'\nGZIP"


def _run_batch(aws, sqls: list[str]) -> dict:
    """A batch through the local Redshift Data API, polled as the operator polls it until it ends."""
    client = aws.client("redshift-data")
    statement_id = client.batch_execute_statement(
        ClusterIdentifier=aws.variables["redshift_cluster_id"],
        Database=aws.variables["redshift_database"],
        DbUser=aws.variables["redshift_db_user"],
        Sqls=sqls,
    )["Id"]
    for _ in range(5):
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
    raise AssertionError(f"statement {statement_id} still {described['Status']}")


@pytest.mark.slow
def test_copy_from_a_prefix_without_objects_fails_with_redshifts_error(aws):
    """Redshift's COPY ends in an error when no object has the prefix (COPY terminates if no files are
    found: https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html); the
    local AWS must not report success where AWS refuses. A batch is one transaction: the statements after
    the failed one are aborted."""
    empty = "raw/tickit_incremental/sales/ds=2024-04-30/"
    sqls = ["DROP TABLE IF EXISTS tickit.stage_sales", _copy(aws, empty), "SELECT 1"]

    described = _run_batch(aws, sqls)

    assert described["Status"] == "FAILED"
    assert described["Error"] == f"ERROR: The specified S3 prefix '{empty}' does not exist"
    assert [sub["Status"] for sub in described["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]


@pytest.mark.slow
def test_copy_from_a_prefix_with_objects_succeeds(aws):
    """The boundary: the sample's first incremental day has its files; a prefix that only starts a key
    matches it too, as COPY reads every key that starts with the prefix."""
    day = f"{aws.sample_day:%Y-%m-%d}"
    for prefix in (f"raw/tickit_incremental/sales/ds={day}/", f"raw/tickit_incremental/sales/ds={day[:-1]}"):
        described = _run_batch(aws, [_copy(aws, prefix)])
        assert (described["Status"], described.get("Error", "")) == ("FINISHED", ""), prefix


UNANSWERED_CHECK_DAG = """
from airflow.sdk import DAG

from lakehouse.catalog import athena_check_not_empty
from lakehouse.defaults import dag_settings

with DAG(dag_id="datalake__98_unanswered_check", schedule=None, tags=["athena"], **dag_settings()):
    athena_check_not_empty(
        "no_answer.check_not_empty",
        "athena/checks/row_count.sql",
        "{{ var.value.glue_database_gold }}",
        params={"table": "no_answer"},
    )
"""


@pytest.mark.slow
def test_a_check_the_local_athena_cannot_answer_is_refused_before_the_run_naming_the_fix(aws, tmp_path):
    """moto runs no SQL: a non-empty check without a count in local_aws.athena_answers.COUNTS would read no
    row and fail as "the table it reads is empty", which is not the cause. The run is refused at once."""
    from local_aws.athena_answers import COUNTS
    from local_aws.run import load_dag, make_local

    # A table no check of the repository reads: a DAG added to this checkout (with its COUNTS) leaves it so.
    assert [key for key in COUNTS if key[1] == "no_answer"] == []
    (tmp_path / "datalake__98_unanswered_check.py").write_text(UNANSWERED_CHECK_DAG)
    dag = load_dag("datalake__98_unanswered_check", tmp_path)
    make_local(dag)

    with pytest.raises(ValueError) as refused:
        aws.run_dag(dag, aws.normal_run(dag))

    assert str(refused.value) == (
        "datalake__98_unanswered_check: the local Athena has no answer for the check "
        "'no_answer.check_not_empty' (sql/athena/checks/row_count.sql, table 'no_answer'): moto "
        "runs no SQL, so the check would read no row and fail. Fix: add "
        '("athena/checks/row_count.sql", "no_answer"): <the count over the sample> to COUNTS in '
        "tools/local_aws/athena_answers.py."
    )
    assert aws.athena_queries() == []  # nothing ran

    # The boundary: an answer set before the run (as a test sets one) lets the run go and the check pass.
    from local_aws.expected import render

    (check,) = dag.tasks
    aws.gaps.athena_answers[render(dag, check, check.query, aws.normal_run(dag), aws.variables)] = [
        ["row_count"],
        ["3"],
    ]
    result = aws.run_dag(dag, aws.normal_run(dag))
    assert result.task_states == {"no_answer.check_not_empty": "success"}, result.summary()


@pytest.mark.slow
def test_all_dags_with_one_the_local_athena_cannot_answer_exits_2_with_the_reason(aws, tmp_path):
    """`./run_local.sh --all`: the refusal is the one-line error of a single DAG's run, not a traceback."""
    import io

    from local_aws.__main__ import _run_all
    from local_aws.run import load_dag, make_local

    (tmp_path / "datalake__98_unanswered_check.py").write_text(UNANSWERED_CHECK_DAG)
    dag = load_dag("datalake__98_unanswered_check", tmp_path)
    make_local(dag)
    out, err = io.StringIO(), io.StringIO()

    assert _run_all(aws, {dag.dag_id: dag}, out, err, tmp_path / "all.log") == 2
    assert err.getvalue().startswith(
        "error: datalake__98_unanswered_check: the local Athena has no answer for the check "
    )
    assert "Fix: add (" in err.getvalue() and out.getvalue() == ""
