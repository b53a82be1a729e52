"""Aggregate the orders once they are written."""

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

with DAG(
    dag_id="consumer",
    doc_md=__doc__,
    schedule=Asset(name="orders") & (Asset(name="prices") | Asset(name="rates")),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    tags=["fixture"],
):
    EmptyOperator(task_id="aggregate") >> EmptyOperator(task_id="publish")
