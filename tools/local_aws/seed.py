"""Create in the local AWS what the DAGs expect to exist, from the Variables that name it.

Every Airflow Variable in config/variables.json is read; its name says what it refers to, and that
resource is created (its id or ARN then replaces the file's value where AWS assigns it):

    *_bucket, *_s3_uri          an S3 bucket (the URI's bucket)
    glue_database*              a Glue database
    *_role_arn                  an IAM role (ARN as created)
    *_topic_arn                 an SNS topic, with an SQS queue subscribed so tests can read what was sent
    redshift_cluster_id         a provisioned Redshift cluster
    emr_cluster_id              a running EMR cluster (run_job_flow; its id becomes the Variable)
    athena_workgroup            an Athena workgroup
    anything else               a plain value, used as it is

The lakehouse bucket then gets the TICKIT sample (sample_data.tickit, default seed): the initial extract
and the incremental days, at the keys of lakehouse.layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
import repository

VARIABLES_FILE = repository.CONFIG / "variables.json"
ALERT_TOPIC_VARIABLE = "sns_alert_topic_arn"
SAMPLE_BUCKET_VARIABLE = "lakehouse_bucket"

_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["glue.amazonaws.com", "redshift.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def read_variables(path: Path = VARIABLES_FILE) -> dict[str, str]:
    """{name: local value} from the variables file ({name: {"description", "value"}})."""
    try:
        entries = json.loads(path.read_text())
        return {name: str(entry["value"]) for name, entry in entries.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{path}: cannot read the Airflow Variables ({error}). Fix: keep it a JSON object of "
            '{"name": {"description": "...", "value": "..."}}.'
        ) from error


@dataclass
class Seeded:
    """What seeding created: the Variables to run with and where to read what the DAGs sent."""

    variables: dict[str, str]
    topic_queues: dict[str, str] = field(default_factory=dict)  # topic ARN -> subscribed SQS queue URL
    buckets: list[str] = field(default_factory=list)

    @property
    def alert_queue_url(self) -> str:
        return self.topic_queues[self.variables[ALERT_TOPIC_VARIABLE]]


def bucket_of(value: str) -> str:
    return value.removeprefix("s3://").split("/", 1)[0]


class Seeder:
    """Creates the resources the Variables name, through the AWS APIs of the local server."""

    def __init__(self, client) -> None:
        self.client = client  # service name -> boto3 client

    def seed(self, variables: dict[str, str]) -> Seeded:
        seeded = Seeded(variables=dict(variables))
        for name, value in variables.items():
            if name.endswith("_bucket") or name.endswith("_s3_uri"):
                self._bucket(seeded, bucket_of(value))
        for name, value in variables.items():
            if name.startswith("glue_database"):
                self.client("glue").create_database(DatabaseInput={"Name": value})
            elif name.endswith("_role_arn"):
                seeded.variables[name] = self._role(value)
            elif name.endswith("_topic_arn"):
                seeded.variables[name] = self._topic(seeded, value)
            elif name == "redshift_cluster_id":
                self._redshift_cluster(value, variables)
            elif name == "emr_cluster_id":
                seeded.variables[name] = self._emr_cluster(value)
            elif name == "athena_workgroup" and value != "primary":
                self.client("athena").create_work_group(Name=value)
        return seeded

    def _bucket(self, seeded: Seeded, bucket: str) -> None:
        if bucket not in seeded.buckets:
            self.client("s3").create_bucket(Bucket=bucket)
            seeded.buckets.append(bucket)

    def _role(self, arn: str) -> str:
        name = arn.rsplit("/", 1)[-1]
        return self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST_POLICY)["Role"][
            "Arn"
        ]

    def _topic(self, seeded: Seeded, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        topic_arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        seeded.topic_queues[topic_arn] = queue_url
        return topic_arn

    def _redshift_cluster(self, cluster_id: str, variables: dict[str, str]) -> None:
        self.client("redshift").create_cluster(
            ClusterIdentifier=cluster_id,
            NodeType="ra3.xlplus",
            ClusterType="single-node",
            DBName=variables.get("redshift_database", "dev"),
            MasterUsername=variables.get("redshift_db_user", "awsuser"),
            MasterUserPassword="Local-only-1",  # moto requires one; nothing authenticates with it
        )

    def _emr_cluster(self, name: str) -> str:
        return self.client("emr").run_job_flow(
            Name=name,
            ReleaseLabel="emr-7.5.0",
            Applications=[{"Name": "Spark"}, {"Name": "Hadoop"}],
            Instances={
                "InstanceGroups": [
                    {
                        "Name": "primary",
                        "InstanceRole": "MASTER",
                        "InstanceType": "m5.xlarge",
                        "InstanceCount": 1,
                    },
                ],
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )["JobFlowId"]

    def upload(self, bucket: str, files: dict[str, Path]) -> None:
        """Put each local file at its S3 key ({key: path}, as sample_data.tickit.write_files returns)."""
        s3 = self.client("s3")
        for key, path in sorted(files.items()):
            s3.upload_file(str(path), bucket, key)
