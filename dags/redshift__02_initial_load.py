"""
### Initial load of the TICKIT tables into Redshift

For each table of `dags/redshift/tables.yaml`, one task group: COPY the table's files under
`raw/tickit/<table>/` in the lakehouse bucket into a staging table, merge it into the table in one
transaction (DELETE ... USING + INSERT: a rerun replaces rows instead of duplicating them), check the
result, drop the staging table.
A last check verifies that every sale, listing and event points at existing rows.

**Ordering.** Scheduled on the asset `redshift_tickit_tables` (updated by `redshift__01_create_tables`), so
it runs once the tables exist, and again, harmlessly, whenever they are re-created. On success it updates
`redshift_tickit_loaded`, which schedules the UNLOAD (`redshift__04_unload_sales_by_category`). Assets
keep each DAG independent: no DAG triggers or waits for another, and each can be rerun on its own.

Variables: `lakehouse_bucket`, `redshift_iam_role_arn` (the role COPY assumes to read the bucket),
`redshift_cluster_id`, `redshift_database`, `redshift_db_user`.
"""

from pathlib import Path

from airflow.sdk import DAG

from lakehouse import layout
from lakehouse.assets import TICKIT_LOADED, TICKIT_TABLES
from lakehouse.defaults import dag_settings
from lakehouse.redshift import copy_merge_check_group, redshift_check
from lakehouse.redshift_tables import SPEC, load_spec

TICKIT = load_spec(Path(__file__).parent / SPEC)

with DAG(
    dag_id="redshift__02_initial_load",
    description="COPY the full TICKIT extract from S3 into Redshift, merge each table, check the result.",
    doc_md=__doc__,
    schedule=[TICKIT_TABLES],
    tags=["tickit", "redshift", "load"],
    params={"schema": TICKIT.schema},
    **dag_settings(),
):
    tables = [copy_merge_check_group(table, layout.full_prefix(table.name)) for table in TICKIT.tables]
    tables >> redshift_check("check_references", "redshift/checks/references.sql", outlets=[TICKIT_LOADED])
