"""
### Hudi incremental upserts of the MoMA CDC tables (UPSERT)

Every hour, applies the Debezium changes the Kafka Connect S3 sink wrote since the last checkpoint to each
Hudi table of `dags/hudi/tables.yaml`: one HoodieStreamer step per table on the EMR cluster of the Variable
`emr_cluster_id`, `--op UPSERT` (never `--continuous`: the step must end), synced to the Glue Data Catalog.
The streamer keeps its checkpoint in the table's commit metadata, so a missed hour is caught up by the next.

Per table: `upload_schema` -> `add_step` -> `wait_for_step`. Run `hudi__01_initial_load` first.
"""

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG

from lakehouse.defaults import dag_settings
from lakehouse.hudi import SPEC, UPSERT, ingest_group, load_spec

SPEC_FILE = Path(__file__).parent / SPEC

with DAG(
    dag_id="hudi__02_incremental_upsert",
    description="Upsert the latest MoMA CDC changes into the Hudi tables on EMR every hour.",
    doc_md=__doc__,
    schedule="@hourly",
    tags=["hudi", "emr", "load"],
    **dag_settings(dagrun_timeout=timedelta(minutes=55)),
):
    for table in load_spec(SPEC_FILE):
        ingest_group(table, UPSERT, SPEC_FILE)
