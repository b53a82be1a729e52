# gate-expects: table-spec
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above (a key the DDL lacks)."""
from pathlib import Path

from airflow.sdk import DAG

from lakehouse import layout
from lakehouse.defaults import dag_settings
from lakehouse.redshift import copy_merge_check_group
from lakehouse.redshift_tables import load_spec

SPEC = Path(__file__).with_name("redshift__bad_table_spec") / "tables.yaml"

with DAG(
    dag_id="redshift__bad_table_spec",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **dag_settings(),
):
    for table in load_spec(SPEC).tables:
        copy_merge_check_group(table, layout.full_prefix(table.name))
