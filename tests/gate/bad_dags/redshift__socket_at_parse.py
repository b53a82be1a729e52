# gate-expects: parse-purity
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.providers.standard.operators.empty import EmptyOperator
import urllib.request

from airflow.sdk import DAG

CONFIG = urllib.request.urlopen("http://config.internal/dags.json").read()

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__socket_at_parse",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
