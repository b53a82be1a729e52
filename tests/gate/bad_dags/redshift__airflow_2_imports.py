# gate-expects: airflow-3-imports
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.operators.empty import EmptyOperator
from airflow.sdk import DAG

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__airflow_2_imports",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
