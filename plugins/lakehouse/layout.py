"""Where data lives in the lakehouse bucket: the one place that spells the S3 keys and URIs.

One bucket (Variable `lakehouse_bucket`, BUCKET_TEMPLATE in a DAG) with one prefix per stage:

    raw/tickit/<table>/<table>_pipe.txt.gz                       the initial extract (pipe-delimited, gzip)
    raw/tickit_incremental/<table>/ds=<YYYY-MM-DD>/<table>_pipe.txt.gz   one day's new and changed rows
    refined/tickit/<table>/                                      Parquet the Glue jobs write
    gold/tickit/<table>/                                         the Athena CTAS tables
    unload/tickit/sales_by_category/catgroup=<g>/catname=<n>/... the Parquet aggregate UNLOAD writes
    artifacts/hudi/schemas/<name>.avsc                           Avro schemas the Hudi steps read
    artifacts/glue-scripts/<script>.py                           Glue job scripts (GlueJobOperator's own
                                                                 s3_artifacts_prefix, given the bucket)

`raw/tickit/` holds one folder per table and nothing else, so a crawler of it finds the tables.
The sample-data generator writes these keys and the DAGs read them, so both import this module.

The slash rule: every prefix ends with "/", because Redshift COPY and S3 listings treat a prefix as
"every key that starts with it" (`raw/tickit/sale` would also match `raw/tickit/sales/`). A key is a prefix
plus a file name; s3_uri turns either into a URI.
"""

from __future__ import annotations

BUCKET_TEMPLATE = "{{ var.value.lakehouse_bucket }}"

RAW_PREFIX = "raw/tickit/"
INCREMENTAL_PREFIX = "raw/tickit_incremental/"
REFINED_PREFIX = "refined/tickit/"
GOLD_PREFIX = "gold/tickit/"
UNLOAD_PREFIX = "unload/tickit/sales_by_category/"
HUDI_SCHEMAS_PREFIX = "artifacts/hudi/schemas/"


def file_name(table: str) -> str:
    return f"{table}_pipe.txt.gz"


def full_prefix(table: str) -> str:
    return f"{RAW_PREFIX}{table}/"


def incremental_table_prefix(table: str) -> str:
    """Every day's folder of the table."""
    return f"{INCREMENTAL_PREFIX}{table}/"


def incremental_prefix(table: str, ds: str) -> str:
    """`ds` is a YYYY-MM-DD day, or a placeholder such as lakehouse.redshift.INTERVAL_DAY inside a DAG."""
    return f"{incremental_table_prefix(table)}ds={ds}/"


def refined_prefix(table: str) -> str:
    return f"{REFINED_PREFIX}{table}/"


def gold_prefix(table: str) -> str:
    return f"{GOLD_PREFIX}{table}/"


def full_key(table: str) -> str:
    return full_prefix(table) + file_name(table)


def incremental_key(table: str, ds: str) -> str:
    return incremental_prefix(table, ds) + file_name(table)


def hudi_schema_key(schema_file_name: str) -> str:
    return HUDI_SCHEMAS_PREFIX + schema_file_name


def s3_uri(bucket: str, key: str) -> str:
    """`s3://<bucket>/<key>`; in a DAG the bucket is BUCKET_TEMPLATE, rendered at run time."""
    return f"s3://{bucket}/{key}"
