"""
### Hudi initial load of the MoMA CDC tables (BULK_INSERT)

Loads the whole backlog of Debezium changes (Avro files of the Kafka Connect S3 sink) into one Hudi table
per entry of `dags/hudi/tables.yaml`, with one HoodieStreamer step per table on the EMR cluster of the
Variable `emr_cluster_id`: `--op BULK_INSERT --filter-dupes`, synced to the Glue Data Catalog.

Per table: `upload_schema` (the table's Avro schema from the bundle to
`s3://<lakehouse_bucket>/artifacts/hudi/schemas/`) -> `add_step` -> `wait_for_step`.
Triggered by hand once, before `hudi__02_incremental_upsert` is switched on. The step arguments come
from the spec through `lakehouse.hudi`; a bad spec fails this file's import naming the table and field.
"""

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from lakehouse.defaults import dag_settings
from lakehouse.hudi import BULK_INSERT, SPEC, ingest_group, load_spec

SPEC_FILE = Path(__file__).parent / SPEC

with DAG(
    dag_id="hudi__01_initial_load",
    description="Bulk-insert the MoMA CDC backlog into Hudi tables on EMR (HoodieStreamer, Glue sync).",
    doc_md=__doc__,
    schedule=None,
    tags=["hudi", "emr", "load"],
    **dag_settings(dagrun_timeout=timedelta(hours=8)),
):
    for table in load_spec(SPEC_FILE):
        ingest_group(table, BULK_INSERT, SPEC_FILE)
