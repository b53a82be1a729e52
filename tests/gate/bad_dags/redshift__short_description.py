# gate-expects: description
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__short_description",
    description="Loads.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
