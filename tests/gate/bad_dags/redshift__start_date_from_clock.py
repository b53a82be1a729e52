# gate-expects: fixed-start-date
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__start_date_from_clock",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **{**dag_settings(), "start_date": pendulum.now("UTC").subtract(days=3)},
):
    EmptyOperator(task_id="work")
