"""The local AWS for end-to-end DAG runs: moto server + seeded resources + pending work completed."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from moto.athena.models import athena_backends
from moto.emr.models import emr_backends
from moto.redshiftdata.models import redshiftdata_backends

from gate.run_contexts import RunContext, asset_triggered_run, is_asset_scheduled, normal_run
from local_aws import athena_answers, run
from local_aws.moto_gaps import MotoGaps
from local_aws.pending_work import PendingWork
from local_aws.seed import SAMPLE_BUCKET_VARIABLE, VARIABLES_FILE, Seeded, Seeder, read_variables
from local_aws.server import REGION, MotoServer

ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass(frozen=True)
class Alert:
    subject: str
    message: str
    topic_arn: str


class LocalAws:
    """An AWS account in this process for running DAGs end to end.

        with LocalAws() as aws:
            result = aws.run("redshift__01_create_tables")  # as its schedule runs it: by hand, no date
            aws.redshift_statements()   # what reached the Redshift Data API, per call

    `reset()` empties the account and seeds it again (each test starts from the same state);
    `pending.failing = True` makes the next statements, steps and crawls fail as AWS reports failures.
    """

    def __init__(self, variables_file: Path = VARIABLES_FILE, dags_folder: Path = run.DAGS_FOLDER) -> None:
        self.variables_file = variables_file
        self.dags_folder = dags_folder
        self.server = MotoServer()
        self.pending = PendingWork()
        self.gaps = MotoGaps()
        self.seeded: Seeded | None = None
        self._sample_dir = tempfile.TemporaryDirectory(prefix="tickit-sample-")
        self._sample = None
        self._sample_files: dict[str, Path] | None = None

    def __enter__(self) -> LocalAws:
        self.server.start()
        self.pending.__enter__()
        self.gaps.__enter__()
        self.reset()
        return self

    def __exit__(self, *exc) -> None:
        self.gaps.__exit__(*exc)
        self.pending.__exit__(*exc)
        self.server.stop()
        self._sample_dir.cleanup()

    def reset(self) -> Seeded:
        self.server.reset()
        self.pending.failing, self.pending.completing = False, True
        self.gaps.athena_answers.clear()
        seeder = Seeder(self.server.client)
        self.seeded = seeder.seed(read_variables(self.variables_file))
        seeder.upload(self.seeded.variables[SAMPLE_BUCKET_VARIABLE], self.sample_files)
        self.server.set_environment({f"AIRFLOW_VAR_{k.upper()}": v for k, v in self.seeded.variables.items()})
        return self.seeded

    @property
    def sample(self):
        """The TICKIT sample (sample_data.tickit.TickitSample), generated once with the default seed.

        It starts on the DAGs' start_date, so its incremental days are days the DAGs can run for.
        """
        if self._sample is None:
            from sample_data.bucket import local_sample

            self._sample = local_sample()
        return self._sample

    @property
    def sample_files(self) -> dict[str, Path]:
        """What the lakehouse bucket is seeded with, {S3 key: local file}: the generated TICKIT sample and the
        committed sample files of tools/sample_data/bucket/ (sample_data.bucket)."""
        if self._sample_files is None:
            from sample_data.bucket import sample_files

            self._sample_files = sample_files(self._sample_dir.name, self.sample)
        return self._sample_files

    @property
    def variables(self) -> dict[str, str]:
        return self.seeded.variables

    def client(self, service: str):
        return self.server.client(service)

    def load(self, dag_id: str):
        dag = run.load_dag(dag_id, self.dags_folder)
        run.make_local(dag)
        return dag

    def run(self, dag_id: str, run_context: RunContext | None = None) -> run.RunResult:
        dag = self.load(dag_id)
        return self.run_dag(dag, run_context or self.normal_run(dag))

    def normal_run(self, dag, day: datetime | None = None) -> RunContext:
        """The run the DAG's schedule makes: asset-triggered (after an event for each asset it is scheduled
        on, recorded now), the scheduled run of the interval starting on `day` (default: the sample's first
        incremental day), or, for a DAG without a schedule, a manual run without a logical date."""
        if is_asset_scheduled(dag):
            run.register(dag)
            return asset_triggered_run(run.emit_schedule_events(dag))
        return normal_run(dag, day or self.sample_day)

    @property
    def sample_day(self) -> datetime:
        """The sample's first incremental day: the interval a scheduled run loads on the sample."""
        end = self.sample.end
        return datetime(end.year, end.month, end.day, tzinfo=timezone.utc)

    def run_dag(self, dag, run_context: RunContext) -> run.RunResult:
        """Run `dag` (from `load`) once as `run_context` says; seed again with `reset()` before the next run.

        Athena answers the DAG's check queries from the sample (local_aws.athena_answers), unless an
        answer for the query was set before; a check it cannot answer refuses the run (ValueError).
        """
        for query, rows in athena_answers.answers(dag, run_context, self.variables, self.sample).items():
            self.gaps.athena_answers.setdefault(query, rows)
        unanswered = athena_answers.unanswered(dag, run_context, self.variables, self.gaps.athena_answers)
        if unanswered:
            raise ValueError("\n".join(unanswered))
        return run.run_dag(dag, run_context)

    # What the DAGs did, read back from the account.

    def redshift_statements(self) -> list[list[str]]:
        """SQL per Redshift Data API call, in call order (a batch is one call with several statements)."""
        backend = redshiftdata_backends[ACCOUNT_ID][REGION]
        return [getattr(s, "sqls", None) or [s.query_string] for s in backend.statements.values()]

    def emr_steps(self) -> list[dict]:
        """Every step added to any EMR cluster, as the AddJobFlowSteps request described it, in order."""
        steps = []
        for cluster in emr_backends[ACCOUNT_ID][REGION].clusters.values():
            for step in cluster.steps:
                steps.append(
                    {
                        "Name": step.name,
                        "ActionOnFailure": step.action_on_failure,
                        "HadoopJarStep": {"Jar": step.jar, "Args": list(step.args)},
                        "State": step.state,
                    }
                )
        return steps

    def athena_queries(self) -> list[str]:
        return [e.query for e in athena_backends[ACCOUNT_ID][REGION].executions.values()]

    def object_keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def alerts(self) -> list[Alert]:
        """The messages published to the failure-alert topic, read from its subscribed SQS queue."""
        sqs = self.client("sqs")
        alerts = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.seeded.alert_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return alerts
            for message in messages:
                body = json.loads(message["Body"])
                alerts.append(Alert(body.get("Subject", ""), body["Message"], body["TopicArn"]))
                sqs.delete_message(
                    QueueUrl=self.seeded.alert_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
