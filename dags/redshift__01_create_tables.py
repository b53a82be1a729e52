"""
### Create the TICKIT schema and tables in Redshift

Creates the `tickit` schema and the tables of `dags/redshift/tables.yaml` (each from its DDL file)
with the DISTKEY/SORTKEY layout Redshift wants. Every statement is `IF NOT EXISTS`, so the DAG is safe to
run again at any time. The statements run as one Redshift Data API batch (one transaction).

Triggered by hand (or by a deploy). On success it updates the asset `redshift_tickit_tables`, which
schedules `redshift__02_initial_load`: the Redshift DAGs hand over through assets, not trigger chains.
"""

from pathlib import Path

from airflow.sdk import DAG

from lakehouse.assets import TICKIT_TABLES
from lakehouse.defaults import dag_settings
from lakehouse.redshift import redshift_sql
from lakehouse.redshift_tables import SPEC, load_spec

TICKIT = load_spec(Path(__file__).parent / SPEC)

with DAG(
    dag_id="redshift__01_create_tables",
    description="Create the TICKIT schema and its tables in Redshift (idempotent).",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit", "redshift", "setup"],
    params={"schema": TICKIT.schema},
    **dag_settings(),
):
    redshift_sql(
        task_id="create_schema_and_tables",
        sql=["redshift/ddl/schema.sql", *(table.ddl for table in TICKIT.tables)],
        outlets=[TICKIT_TABLES],
    )
