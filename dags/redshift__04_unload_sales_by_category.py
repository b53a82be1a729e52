"""
### UNLOAD the TICKIT sales aggregate from Redshift to the data lake

Aggregates sales per category, event, seller and buyer (sales, tickets, sale amount, commission and
commission %) and UNLOADs it as Parquet under `unload/tickit/sales_by_category/` in the lakehouse bucket,
partitioned by `catgroup` and `catname`.

`clear_unload_prefix` first deletes everything under that prefix: with `PARTITION BY`, UNLOAD's `CLEANPATH`
cleans only the partition folders it writes again, so a category without sales would keep its old files,
and the crawler and the Athena check would count them. Every run leaves exactly the new output.

**Ordering.** Scheduled on the asset `redshift_tickit_loaded` (updated by the initial and the incremental
load); on success it updates `s3_tickit_sales_by_category`, which schedules the crawl and Athena check
(`redshift__05_catalog_sales_by_category`).

Variables: `lakehouse_bucket`, `redshift_iam_role_arn` (the role UNLOAD assumes to write the bucket),
`redshift_cluster_id`, `redshift_database`, `redshift_db_user`.
"""

from pathlib import Path

from airflow.sdk import DAG

from lakehouse import layout
from lakehouse.assets import SALES_BY_CATEGORY_UNLOADED, TICKIT_LOADED
from lakehouse.catalog import clear_s3_prefix
from lakehouse.defaults import dag_settings
from lakehouse.redshift import redshift_sql
from lakehouse.redshift_tables import SPEC, load_spec

TICKIT = load_spec(Path(__file__).parent / SPEC)

with DAG(
    dag_id="redshift__04_unload_sales_by_category",
    description="UNLOAD the TICKIT sales aggregate from Redshift to S3 as Parquet partitioned by category.",
    doc_md=__doc__,
    schedule=[TICKIT_LOADED],
    tags=["tickit", "redshift", "unload", "s3"],
    params={"schema": TICKIT.schema, "unload_prefix": layout.UNLOAD_PREFIX},
    **dag_settings(),
):
    clear_unload_prefix = clear_s3_prefix("clear_unload_prefix", layout.UNLOAD_PREFIX)
    unload = redshift_sql(
        task_id="unload_sales_by_category",
        sql="redshift/unload/sales_by_category.sql",
        outlets=[SALES_BY_CATEGORY_UNLOADED],
    )
    clear_unload_prefix >> unload
