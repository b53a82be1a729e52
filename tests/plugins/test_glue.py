"""lakehouse.glue: what a refine task sends to Glue, and how it ends when the job run does.

S3 (the script upload) is moto's server; Glue is botocore's Stubber on the hook's own client, because moto
5.1.10 has no UpdateJob and finishes every job run at once: the stub answers as Glue does and fails on any
request it was not told to expect, so the requests are checked in order.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from airflow.exceptions import AirflowException
from airflow.sdk import DAG
from botocore.stub import Stubber

from lakehouse.defaults import dag_settings
from lakehouse.glue import refine_job
from local_aws.server import MotoServer
from tests.dags.rendering import manual_run, render_task, variable_values

VARIABLES = variable_values()
BUCKET = VARIABLES["lakehouse_bucket"]
JOB = "tickit_refine_sales"
RUN_ID = "jr_0123456789abcdef"

# A worker of each type is this many DPUs (botocore's Glue model, CreateJob `WorkerType`; the AWS Glue
# Jobs API, https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-job.html).
DPUS_PER_WORKER = {"G.025X": 0.25, "G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}
# "When you specify an Apache Spark ETL job (JobCommand.Name="glueetl") ... you can allocate from 2 to 100
# DPUs" (same page, `MaxCapacity`): AWS refuses a Spark job of fewer DPUs.
SPARK_JOB_MIN_DPUS = 2


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture
def task(moto, dags_folder):
    """The refine task of the sales table, rendered as the run renders it, its script uploaded on use."""
    moto.reset()
    moto.client("s3").create_bucket(Bucket=BUCKET)
    with DAG(dag_id="datalake__99_glue_probe", schedule="@daily", **dag_settings()) as dag:
        refine_job("sales", dags_folder / "glue_scripts" / "tickit_refine.py")
    rendered = render_task(
        dag.task_dict["refine_sales"], manual_run(dag, datetime(2024, 3, 2, tzinfo=timezone.utc))
    )
    rendered.do_xcom_push = False  # no task instance to keep the console link in, outside a DAG run
    return rendered


class GlueStub:
    """Stubber on the task's Glue client, recording every request (operation, parameters) it receives."""

    def __init__(self, task) -> None:
        self.client = task.hook.conn
        self.stubber = Stubber(self.client)
        self.requests: list[tuple[str, dict]] = []
        self.client.meta.events.register("provide-client-params.glue.*", self._record)

    def _record(self, params, model, **_):
        self.requests.append((model.name, dict(params)))

    def job_missing(self) -> None:
        self.stubber.add_client_error("get_job", "EntityNotFoundException", "Job not found", 400)

    def job_exists(self, definition: dict, times: int = 1) -> None:
        for _ in range(times):
            self.stubber.add_response("get_job", {"Job": definition})

    def then(self, operation: str, response: dict) -> None:
        self.stubber.add_response(operation, response)

    def run_ends(self, *states: str) -> None:
        self.then("start_job_run", {"JobRunId": RUN_ID})
        for state in states:
            self.then("get_job_run", {"JobRun": {"Id": RUN_ID, "JobName": JOB, "JobRunState": state}})

    def sent(self, operation: str) -> dict:
        (params,) = [params for name, params in self.requests if name == operation]
        return params


def test_a_failed_job_run_fails_the_task(task):
    """Waiting is what fails it: a task that only started the run would succeed, and the crawl of the
    refined zone would start while the job still writes (or after it wrote nothing)."""
    glue = GlueStub(task)
    glue.job_missing()
    glue.then("create_job", {"Name": JOB})
    glue.run_ends("RUNNING", "FAILED")
    task.hook.job_poll_interval = 0  # only the time between polls, not what is asked
    with glue.stubber, pytest.raises(AirflowException, match=f"{RUN_ID} Run State: FAILED"):
        task.execute({})
    assert [name for name, _ in glue.requests] == [
        "GetJob",
        "CreateJob",
        "StartJobRun",
        "GetJobRun",
        "GetJobRun",
    ]


def test_the_task_ends_after_the_job_run_succeeded(task):
    glue = GlueStub(task)
    glue.job_missing()
    glue.then("create_job", {"Name": JOB})
    glue.run_ends("RUNNING", "SUCCEEDED")
    task.hook.job_poll_interval = 0
    with glue.stubber:
        assert task.execute({}) == RUN_ID
        glue.stubber.assert_no_pending_responses()
    assert glue.sent("StartJobRun") == {
        "JobName": JOB,
        "Arguments": {
            "--table": "sales",
            "--raw_database": VARIABLES["glue_database_raw"],
            "--target_path": f"s3://{BUCKET}/refined/tickit/sales/",
        },
    }


def test_a_job_defined_otherwise_on_aws_is_updated_to_the_bundle_s_definition_before_it_runs(task):
    """The job is the DAG's: one edited in the console (or by an older bundle) runs this definition again."""
    glue = GlueStub(task)
    older = {
        "Name": JOB,
        "Role": "arn:aws:iam::123456789012:role/edited-by-hand",
        "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/artifacts/glue-scripts/old.py"},
        "GlueVersion": "3.0",
        "WorkerType": "G.2X",
        "NumberOfWorkers": 10,
    }
    glue.job_exists(older, times=2)  # GetJob: does it exist, then what is it now
    glue.then("update_job", {"JobName": JOB})
    glue.run_ends("SUCCEEDED")
    with glue.stubber:
        task.execute({})
        glue.stubber.assert_no_pending_responses()
    update = glue.sent("UpdateJob")["JobUpdate"]
    assert update["Command"]["ScriptLocation"] == f"s3://{BUCKET}/artifacts/glue-scripts/tickit_refine.py"
    assert update["Role"] == VARIABLES["glue_job_role_arn"]
    assert (update["GlueVersion"], update["WorkerType"]) == ("4.0", "G.1X")
    assert [name for name, _ in glue.requests].index("UpdateJob") < [n for n, _ in glue.requests].index(
        "StartJobRun"
    )


def test_the_job_runs_on_the_smallest_capacity_glue_allows_a_spark_job(task):
    """The TICKIT tables are small: more workers only cost more; fewer than 2 DPUs AWS refuses."""
    glue = GlueStub(task)
    glue.job_missing()
    glue.then("create_job", {"Name": JOB})
    glue.run_ends("SUCCEEDED")
    with glue.stubber:
        task.execute({})
    created = glue.sent("CreateJob")
    assert created["Command"]["Name"] == "glueetl"
    assert "MaxCapacity" not in created, "AWS refuses MaxCapacity beside WorkerType and NumberOfWorkers"
    assert created["NumberOfWorkers"] * DPUS_PER_WORKER[created["WorkerType"]] == SPARK_JOB_MIN_DPUS
