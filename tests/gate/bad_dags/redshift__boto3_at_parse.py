# gate-expects: parse-purity
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.providers.standard.operators.empty import EmptyOperator
import boto3
from airflow.sdk import DAG

BUCKETS = boto3.client("s3").list_buckets()

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__boto3_at_parse",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
