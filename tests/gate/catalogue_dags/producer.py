"""### Produce the orders

Writes the orders, then marks the asset.
"""

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, TaskGroup

with DAG(
    dag_id="producer",
    doc_md=__doc__,
    schedule="30 6 * * 1-5",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris"),
    catchup=False,
    tags=["fixture"],
    default_args={"owner": "orders-team"},
):
    start = EmptyOperator(task_id="start")
    with TaskGroup("load") as load:
        first = BashOperator(task_id="first", bash_command="echo {{ var.value.orders_bucket }}")
        second = EmptyOperator(task_id="second")
        with TaskGroup("inner"):
            deep = EmptyOperator(task_id="deep")
        first >> second >> deep
    done = EmptyOperator(task_id="done", outlets=[Asset(name="orders")])
    start >> load >> done
