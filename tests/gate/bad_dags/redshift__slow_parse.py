# gate-expects: parse-budget
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above."""
from airflow.providers.standard.operators.empty import EmptyOperator
import time

from airflow.sdk import DAG

_started = time.thread_time()
while time.thread_time() - _started < 1.0:  # stands for an expensive module-level computation
    pass

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__slow_parse",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    EmptyOperator(task_id="work")
