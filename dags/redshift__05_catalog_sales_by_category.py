"""
### Catalog the unloaded sales aggregate with Glue and check it with Athena

Runs the Glue crawler over `unload/tickit/sales_by_category/` in the lakehouse bucket: it creates or
updates the table `sales_by_category` in the Glue database `glue_database_unload`, with the partition
folders as the partition keys `catgroup` and `catname`. Then an Athena query on that table counts the
categories with sales, and fails the run when there are none.

**Ordering.** Scheduled on the asset `s3_tickit_sales_by_category`, updated by
`redshift__04_unload_sales_by_category` after each UNLOAD.

Variables: `lakehouse_bucket`, `glue_database_unload`, `glue_crawler_role_arn`, `athena_workgroup`,
`athena_results_s3_uri`.
"""

from airflow.sdk import DAG

from lakehouse import layout
from lakehouse.assets import SALES_BY_CATEGORY_UNLOADED
from lakehouse.catalog import athena_check_not_empty, crawl, crawler_config
from lakehouse.defaults import dag_settings

DATABASE = "{{ var.value.glue_database_unload }}"

with DAG(
    dag_id="redshift__05_catalog_sales_by_category",
    description="Crawl the unloaded TICKIT sales aggregate into Glue and check it with an Athena query.",
    doc_md=__doc__,
    schedule=[SALES_BY_CATEGORY_UNLOADED],
    tags=["tickit", "glue", "athena", "catalog"],
    **dag_settings(),
):
    crawl_unload = crawl(
        task_id="crawl_sales_by_category",
        config=crawler_config(
            "tickit_sales_by_category",
            DATABASE,
            [layout.s3_uri(layout.BUCKET_TEMPLATE, layout.UNLOAD_PREFIX)],
            "{{ var.value.glue_crawler_role_arn }}",
        ),
    )
    check_in_athena = athena_check_not_empty(
        task_id="check_sales_by_category", query="athena/sales_by_category_check.sql", database=DATABASE
    )
    crawl_unload >> check_in_athena
