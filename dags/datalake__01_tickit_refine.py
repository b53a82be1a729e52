"""
### TICKIT data lake: crawl the raw zone, refine every table to Parquet, crawl the refined zone

1. `crawl_raw`: the Glue crawler `tickit_raw` catalogs `s3://<lakehouse_bucket>/raw/tickit/<table>/` (one
   table per folder, columns col0..colN of the headerless pipe-delimited files) into `glue_database_raw`.
2. `refine.refine_<table>`: one Glue job per TICKIT table names and types the columns and writes Parquet
   to `refined/tickit/<table>/`. The job script is `dags/glue_scripts/tickit_refine.py` from this bundle:
   the task uploads it to `s3://<lakehouse_bucket>/artifacts/glue-scripts/` and creates or updates the job.
3. `crawl_refined`: the crawler `tickit_refined` catalogs the Parquet tables into `glue_database_refined`
   and marks the asset `tickit_refined_tables`, which starts `datalake__02_tickit_gold`.

Variables: lakehouse_bucket, glue_database_raw, glue_database_refined, glue_crawler_role_arn,
glue_job_role_arn.
"""

from pathlib import Path

from airflow.sdk import DAG, TaskGroup, chain

from lakehouse import layout
from lakehouse.assets import REFINED_TABLES
from lakehouse.catalog import crawl, crawler_config
from lakehouse.defaults import dag_settings
from lakehouse.glue import refine_job
from lakehouse.redshift_tables import SPEC, load_spec

REFINE_SCRIPT = Path(__file__).parent / "glue_scripts" / "tickit_refine.py"
CRAWLER_ROLE = "{{ var.value.glue_crawler_role_arn }}"
TABLES = [table.name for table in load_spec(Path(__file__).parent / SPEC).tables]

with DAG(
    dag_id="datalake__01_tickit_refine",
    description="Crawl raw TICKIT files, refine each table to Parquet with Glue jobs, crawl the result.",
    doc_md=__doc__,
    schedule="@daily",
    tags=["tickit", "glue", "s3", "lakehouse"],
    **dag_settings(),
):
    crawl_raw = crawl(
        "crawl_raw",
        crawler_config(
            "tickit_raw",
            "{{ var.value.glue_database_raw }}",
            [layout.s3_uri(layout.BUCKET_TEMPLATE, layout.full_prefix(table)) for table in TABLES],
            CRAWLER_ROLE,
        ),
    )
    with TaskGroup("refine") as refine:
        for table in TABLES:
            refine_job(table, REFINE_SCRIPT)
    crawl_refined = crawl(
        "crawl_refined",
        crawler_config(
            "tickit_refined",
            "{{ var.value.glue_database_refined }}",
            [layout.s3_uri(layout.BUCKET_TEMPLATE, layout.refined_prefix(table)) for table in TABLES],
            CRAWLER_ROLE,
        ),
        outlets=[REFINED_TABLES],
    )
    chain(crawl_raw, refine, crawl_refined)
