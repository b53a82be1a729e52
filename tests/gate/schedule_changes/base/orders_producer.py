"""Fixture for the schedule-change review: orders_producer."""

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

with DAG(
    dag_id="orders_producer",
    schedule="0 0 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
):
    EmptyOperator(task_id="work", outlets=[Asset(name="orders")])
