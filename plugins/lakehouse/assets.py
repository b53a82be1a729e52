"""The assets that order the lakehouse DAGs: a DAG that finishes a step updates its asset, and the next DAG
is scheduled on it.

    redshift__01_create_tables -> TICKIT_TABLES -> redshift__02_initial_load -> TICKIT_LOADED
    redshift__03_incremental_load -> TICKIT_LOADED -> redshift__04_unload_sales_by_category
        -> SALES_BY_CATEGORY_UNLOADED -> redshift__05_catalog_sales_by_category
    datalake__01_tickit_refine -> REFINED_TABLES -> datalake__02_tickit_gold
"""

from __future__ import annotations

from airflow.sdk import Asset

TICKIT_TABLES = Asset(name="redshift_tickit_tables")  # Redshift schema and tables exist
TICKIT_LOADED = Asset(name="redshift_tickit_loaded")  # new rows merged (initial or incremental load)
SALES_BY_CATEGORY_UNLOADED = Asset(name="s3_tickit_sales_by_category")  # Parquet aggregate in the lake
REFINED_TABLES = Asset(name="tickit_refined_tables")  # the refined Parquet tables are crawled
