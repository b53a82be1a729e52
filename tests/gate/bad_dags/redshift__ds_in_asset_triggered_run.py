# gate-expects: templates-render
"""A corpus DAG for the gate's own tests: it breaks exactly the rule named above.

Scheduled on an asset, so its runs have no logical date: `{{ ds }}` cannot render in them.
"""
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset

from lakehouse.defaults import dag_settings

with DAG(
    dag_id="redshift__ds_in_asset_triggered_run",
    description="A corpus DAG that breaks one rule.",
    doc_md=__doc__,
    schedule=[Asset(name="corpus_upstream_done")],
    tags=["tickit"],
    **dag_settings(),
):
    BashOperator(task_id="report_day", bash_command="echo loading {{ ds }}")
