"""The DAGs reading dags/redshift/tables.yaml: a table there is a table they load; a bad entry fails them."""

from __future__ import annotations

import shutil

import pytest
import yaml

import repository

from gate.loader import load
from gate.rules import violations
from sample_data.bucket import redshift_spec

# Every DAG file that reads the Redshift table spec.
SPEC_DAGS = (
    "redshift__01_create_tables",
    "redshift__02_initial_load",
    "redshift__03_incremental_load",
    "redshift__04_unload_sales_by_category",
    "datalake__01_tickit_refine",
)
SPEC = redshift_spec()


def test_every_table_of_the_spec_is_created_loaded_and_refined(loaded):
    create = loaded.dags["redshift__01_create_tables"].task_dict["create_schema_and_tables"]
    assert create.params["schema"] == SPEC.schema
    initial, incremental = (loaded.dags[f"redshift__0{n}"] for n in ("2_initial_load", "3_incremental_load"))
    refine = loaded.dags["datalake__01_tickit_refine"]
    for table in SPEC.tables:
        created = [sql for sql in create.sql if f"{{{{ params.schema }}}}.{table.name} (" in sql]
        assert created == [
            (repository.SQL / table.ddl).read_text()
        ], f"{table.name}: not created from {table.ddl}"
        assert f"{table.name}.copy_to_staging" in initial.task_dict
        assert (f"{table.name}.copy_to_staging" in incremental.task_dict) == table.incremental
        assert f"refine.refine_{table.name}" in refine.task_dict
        params = initial.task_dict[f"{table.name}.merge"].params
        assert (params["schema"], params["table"], params["key"]) == (SPEC.schema, table.name, table.key)
    for table in SPEC.incremental:
        assert incremental.task_dict[f"{table.name}.check"].params["event_time"] == table.event_time


def test_groups_load_in_spec_order_before_the_reference_check(loaded):
    initial = loaded.dags["redshift__02_initial_load"]
    groups = [task_id.split(".")[0] for task_id in initial.task_dict if task_id.endswith(".copy_to_staging")]
    assert groups == [table.name for table in SPEC.tables]
    check = initial.task_dict["check_references"]
    for table in SPEC.tables:
        assert check.task_id in initial.task_dict[f"{table.name}.check"].get_flat_relative_ids(upstream=False)


@pytest.fixture(scope="module")
def bad_spec_violations(tmp_path_factory, dags_folder, policy):
    """The gate run on a copy of the DAGs reading the spec, whose 'sales' entry names a key the DDL lacks."""
    folder = tmp_path_factory.mktemp("bad_redshift_spec") / "dags"
    folder.mkdir()
    for dag_id in SPEC_DAGS:
        shutil.copy(dags_folder / f"{dag_id}.py", folder)
    shutil.copytree(dags_folder / "glue_scripts", folder / "glue_scripts")
    shutil.copytree(dags_folder / "redshift", folder / "redshift")
    (folder.parent / "sql").symlink_to(dags_folder.parent / "sql")
    spec = folder / "redshift" / "tables.yaml"
    document = yaml.safe_load(spec.read_text())
    (sales,) = [table for table in document["tables"] if table["name"] == "sales"]
    sales["key"] = "sale_id"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return list(violations(load(folder), policy))


def test_a_bad_entry_fails_every_dag_reading_the_spec_naming_table_field_and_fix(bad_spec_violations):
    failed = {path.name: (rule, message) for rule, path, message in bad_spec_violations}
    assert set(failed) == {f"{dag_id}.py" for dag_id in SPEC_DAGS}
    for rule, message in failed.values():
        assert rule == "table-spec"
        assert (
            "tables.yaml: table 'sales', field 'key': 'sale_id' is not a column of redshift/ddl/sales.sql"
            in message
        )
        assert "Fix: use one of [" in message and "'salesid'" in message
