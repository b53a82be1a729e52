"""Where TICKIT data lives in the lakehouse bucket: the one place that spells the S3 keys.

One bucket (Variable `lakehouse_bucket`) with one prefix per stage:

    raw/tickit/<table>/<table>_pipe.txt.gz                       the initial extract (pipe-delimited, gzip)
    raw/tickit_incremental/<table>/ds=<YYYY-MM-DD>/<table>_pipe.txt.gz   one day's new and changed rows
    unload/tickit/sales_by_category/catgroup=<g>/catname=<n>/... the Parquet aggregate UNLOAD writes

`raw/tickit/` holds one folder per table and nothing else, so a crawler of it finds the seven tables.

The sample-data generator writes these keys and the DAGs read them, so both import this module.
Prefixes end with "/" because Redshift COPY treats a prefix as "every key that starts with it".
"""

from __future__ import annotations

RAW_PREFIX = "raw/tickit"
INCREMENTAL_PREFIX = "raw/tickit_incremental"
UNLOAD_PREFIX = "unload/tickit/sales_by_category/"
BUCKET_TEMPLATE = "{{ var.value.lakehouse_bucket }}"


def file_name(table: str) -> str:
    return f"{table}_pipe.txt.gz"


def full_prefix(table: str) -> str:
    return f"{RAW_PREFIX}/{table}/"


def incremental_prefix(table: str, ds: str) -> str:
    """`ds` is a YYYY-MM-DD day, or the template `{{ ds }}` inside a DAG."""
    return f"{INCREMENTAL_PREFIX}/{table}/ds={ds}/"


def full_key(table: str) -> str:
    return full_prefix(table) + file_name(table)


def incremental_key(table: str, ds: str) -> str:
    return incremental_prefix(table, ds) + file_name(table)


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
