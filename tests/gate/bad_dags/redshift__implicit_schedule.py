# gate-expects: explicit-schedule
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__implicit_schedule",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
