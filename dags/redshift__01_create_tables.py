"""
### Create the TICKIT schema and tables in Redshift

Creates the `tickit` schema and its seven tables (users, venue, category, date, event, listing, sales)
with the DISTKEY/SORTKEY layout Redshift wants. Every statement is `IF NOT EXISTS`, so the DAG is safe to
run again at any time. The statements run as one Redshift Data API batch (one transaction).

Triggered by hand (or by a deploy) before the first load; the load DAGs assume these tables exist.
"""

from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import DAG

from lakehouse.defaults import AWS_CONN_ID, dag_settings
from lakehouse.tickit import SCHEMA, TABLES

with DAG(
    dag_id="redshift__01_create_tables",
    description="Create the TICKIT schema and its seven tables in Redshift (idempotent).",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit", "redshift", "setup"],
    params={"schema": SCHEMA},
    **dag_settings(__file__),
):
    RedshiftDataOperator(
        task_id="create_schema_and_tables",
        aws_conn_id=AWS_CONN_ID,
        cluster_identifier="{{ var.value.redshift_cluster_id }}",
        database="{{ var.value.redshift_database }}",
        db_user="{{ var.value.redshift_db_user }}",
        sql=["redshift/ddl/schema.sql", *(f"redshift/ddl/{table}.sql" for table in TABLES)],
        wait_for_completion=True,
        poll_interval=5,
    )
