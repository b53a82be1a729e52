"""
### TICKIT data lake: gold aggregates with Athena CTAS

Runs when `datalake__01_tickit_refine` has crawled fresh refined tables (asset `tickit_refined_tables`).
Creates the gold Glue database if needed, then rebuilds two partitioned Parquet tables from the refined
zone, each as `drop_table` -> `clear_location` -> `create_table` (CTAS) -> `check_not_empty`:

- `sales_by_category` (partitioned by `catgroup`), SQL in `sql/athena/gold/sales_by_category.sql`;
- `sales_by_date` (partitioned by `year`, `month`), SQL in `sql/athena/gold/sales_by_date.sql`.

Files go to `s3://<lakehouse_bucket>/gold/tickit/<table>/`. The check fails the run when a gold table is
empty. Variables: lakehouse_bucket, glue_database_refined, glue_database_gold, athena_workgroup,
athena_results_s3_uri.
"""

from airflow.sdk import DAG

from lakehouse import layout
from lakehouse.assets import REFINED_TABLES
from lakehouse.catalog import athena_ctas_group, athena_query
from lakehouse.defaults import dag_settings

GOLD_DATABASE = "{{ var.value.glue_database_gold }}"
GOLD_TABLES = ("sales_by_category", "sales_by_date")

with DAG(
    dag_id="datalake__02_tickit_gold",
    description="Rebuild the TICKIT gold aggregates (sales by category, by date) with Athena CTAS.",
    doc_md=__doc__,
    schedule=[REFINED_TABLES],
    tags=["tickit", "athena", "lakehouse"],
    **dag_settings(),
):
    create_database = athena_query(
        "create_database", "athena/gold/create_database.sql", "{{ var.value.glue_database_refined }}"
    )
    for table in GOLD_TABLES:
        create_database >> athena_ctas_group(
            table, f"athena/gold/{table}.sql", GOLD_DATABASE, layout.gold_prefix(table)
        )
