"""The Hudi DAGs: their EMR steps are what the builder makes from the spec, and a bad spec fails the gate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gate.loader import load
from gate.rules import violations
from lakehouse.hudi import BULK_INSERT, UPSERT, emr_step, load_spec
from tests.dags.lake_support import VARIABLES, render

HUDI_DAGS = {"hudi__01_initial_load": BULK_INSERT, "hudi__02_incremental_upsert": UPSERT}


@pytest.fixture(scope="module")
def spec_tables(dags_folder):
    return load_spec(dags_folder / "hudi" / "tables.yaml")


@pytest.mark.parametrize("dag_id, op", HUDI_DAGS.items())
def test_one_task_group_per_spec_table(dag_bag, spec_tables, dag_id, op):
    dag = dag_bag.dags[dag_id]
    expected = {
        f"{t.name}.{task}" for t in spec_tables for task in ("upload_schema", "add_step", "wait_for_step")
    }
    assert set(dag.task_dict) == expected


@pytest.mark.parametrize("dag_id, op", HUDI_DAGS.items())
def test_rendered_emr_steps_equal_the_builder_output(dag_bag, spec_tables, dag_id, op):
    dag = dag_bag.dags[dag_id]
    for table in spec_tables:
        add_step = dag.task_dict[f"{table.name}.add_step"]
        assert render(add_step, "job_flow_id") == VARIABLES["emr_cluster_id"]
        assert render(add_step, "steps") == [emr_step(table, op, bucket=VARIABLES["lakehouse_bucket"])]
        args = render(add_step, "steps")[0]["HadoopJarStep"]["Args"]
        assert args[args.index("--op") + 1] == op
        assert "--continuous" not in args


@pytest.mark.parametrize("dag_id", HUDI_DAGS)
def test_sensor_waits_for_the_step_its_group_added(dag_bag, spec_tables, dag_id):
    dag = dag_bag.dags[dag_id]
    for table in spec_tables:
        sensor = dag.task_dict[f"{table.name}.wait_for_step"]
        upstream = {f"{table.name}.add_step": [f"s-{table.name.upper()}"]}
        assert render(sensor, "step_id", upstream) == f"s-{table.name.upper()}"
        assert render(sensor, "job_flow_id") == VARIABLES["emr_cluster_id"]
        assert sensor.upstream_task_ids == {f"{table.name}.add_step"}


@pytest.mark.parametrize("dag_id", HUDI_DAGS)
def test_schema_upload_sends_the_bundled_avsc_where_the_step_reads_it(
    dag_bag, spec_tables, dags_folder, dag_id
):
    dag = dag_bag.dags[dag_id]
    for table in spec_tables:
        upload = dag.task_dict[f"{table.name}.upload_schema"]
        assert Path(upload.filename) == dags_folder / "hudi" / table.schema
        assert Path(upload.filename).is_file()
        assert render(upload, "dest_bucket") == VARIABLES["lakehouse_bucket"]
        args = render(dag.task_dict[f"{table.name}.add_step"], "steps")[0]["HadoopJarStep"]["Args"]
        schema_conf = (
            f"hoodie.streamer.schemaprovider.source.schema.file=s3://{VARIABLES['lakehouse_bucket']}/"
        )
        assert schema_conf + render(upload, "dest_key") in args


@pytest.fixture(scope="module")
def bad_spec_violations(tmp_path_factory, dags_folder, policy):
    """The gate run on a copy of the Hudi DAGs whose spec names a column the Avro schema lacks."""
    folder = tmp_path_factory.mktemp("bad_spec_dags")
    for dag_id in HUDI_DAGS:
        shutil.copy(dags_folder / f"{dag_id}.py", folder)
    shutil.copytree(dags_folder / "hudi", folder / "hudi")
    spec = folder / "hudi" / "tables.yaml"
    document = yaml.safe_load(spec.read_text())
    document["tables"][1]["partition_field"] = "category"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return list(violations(load(folder), policy))


def test_a_bad_table_spec_fails_the_gate_naming_the_table_and_the_field(bad_spec_violations):
    failed = {path.name: message for _, path, message in bad_spec_violations}
    assert set(failed) == {f"{dag_id}.py" for dag_id in HUDI_DAGS}
    for message in failed.values():
        assert "table 'artworks', field 'partition_field'" in message
        assert "'category' is not a field of the Avro schema artworks.avsc" in message
        assert "tables.yaml" in message
