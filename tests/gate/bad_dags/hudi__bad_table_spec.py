# gate-expects: table-spec
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above (an unknown table type)."""
from pathlib import Path

from airflow.sdk import DAG

from lakehouse.defaults import dag_settings
from lakehouse.hudi import UPSERT, ingest_group, load_spec

SPEC = Path(__file__).with_name("hudi__bad_table_spec") / "tables.yaml"

with DAG(
    dag_id="hudi__bad_table_spec",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["hudi"],
    **dag_settings(),
):
    for table in load_spec(SPEC):
        ingest_group(table, UPSERT, SPEC)
