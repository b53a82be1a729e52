"""Glue jobs of the TICKIT data lake: one job per table turns the crawled raw text files into Parquet.

The job script ships with the DAG bundle (`dags/glue_scripts/`, excluded from DAG parsing by
`.airflowignore`). At run time GlueJobOperator uploads the worker's copy to the lakehouse bucket (under its
artifacts/glue-scripts/, see lakehouse.layout) and creates the job, or updates it to this definition, so
the script Glue runs is always the one of the deployed bundle, and no job is created by hand.
"""

from __future__ import annotations

from pathlib import Path

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from lakehouse import layout
from lakehouse.defaults import AWS_CONN_ID

GLUE_VERSION = "4.0"
# The smallest capacity Glue gives a Spark job (2 DPUs): the TICKIT tables are small, more workers only cost.
JOB_CAPACITY = {"WorkerType": "G.1X", "NumberOfWorkers": 2}


def refine_job(table: str, script: Path) -> GlueJobOperator:
    """Runs the Glue job `tickit_refine_<table>`: raw catalog table -> typed Parquet (layout.refined_prefix).

    `script` is the job script in the bundle (pass a path built from the DAG's `__file__`).
    """
    return GlueJobOperator(
        task_id=f"refine_{table}",
        job_name=f"tickit_refine_{table}",
        job_desc=f"TICKIT {table}: raw text (Glue catalog) -> Parquet in the refined zone",
        script_location=str(script),
        s3_bucket=layout.BUCKET_TEMPLATE,
        replace_script_file=True,
        update_config=True,
        iam_role_arn="{{ var.value.glue_job_role_arn }}",
        create_job_kwargs={
            "GlueVersion": GLUE_VERSION,
            **JOB_CAPACITY,
            "DefaultArguments": {"--job-language": "python", "--enable-glue-datacatalog": "true"},
        },
        script_args={
            "--table": table,
            "--raw_database": "{{ var.value.glue_database_raw }}",
            "--target_path": layout.s3_uri(layout.BUCKET_TEMPLATE, layout.refined_prefix(table)),
        },
        aws_conn_id=AWS_CONN_ID,
        wait_for_completion=True,
        job_poll_interval=15,
    )
