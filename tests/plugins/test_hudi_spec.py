"""lakehouse.hudi: the table spec is validated field by field, and becomes HoodieStreamer arguments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from lakehouse.hudi import (
    BULK_INSERT,
    GLUE_SYNC_TOOL,
    REQUIRED_FIELDS,
    STREAMER_CLASS,
    TABLE_TYPES,
    UPSERT,
    UTILITIES_JAR,
    TableSpecError,
    emr_step,
    load_spec,
    spark_submit_args,
    streamer_args,
)
import repository

SPEC = repository.DAGS / "hudi" / "tables.yaml"
BUCKET = "lake-bucket"


def schema_fields(table) -> set[str]:
    schema = json.loads((SPEC.parent / table.schema).read_text())
    return {field["name"] for field in schema["fields"]}


def hoodie_confs(args: list[str]) -> dict[str, str]:
    pairs = [args[i + 1] for i, arg in enumerate(args) if arg == "--hoodie-conf"]
    return dict(pair.split("=", 1) for pair in pairs)


def flag_value(args: list[str], flag: str) -> str:
    assert args.count(flag) == 1, f"{flag} appears {args.count(flag)} times in {args}"
    return args[args.index(flag) + 1]


@pytest.fixture
def spec_copy(tmp_path):
    """A copy of the shipped spec and schemas; returns (spec file, its document) to edit and write back."""
    shutil.copytree(SPEC.parent, tmp_path / "hudi")
    spec = tmp_path / "hudi" / SPEC.name
    return spec, yaml.safe_load(spec.read_text())


def write(spec: Path, document: dict) -> Path:
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return spec


# The shipped spec


def test_shipped_spec_describes_the_moma_tables_with_both_table_types():
    tables = {table.name: table for table in load_spec(SPEC)}
    assert {"artists", "artworks"} <= set(tables)  # more tables may follow: each is a spec entry
    assert (tables["artists"].record_key, tables["artists"].partition_field) == ("artist_id", "nationality")
    assert (tables["artworks"].record_key, tables["artworks"].partition_field) == (
        "artwork_id",
        "classification",
    )
    assert {tables[name].ordering_field for name in ("artists", "artworks")} == {"__source_ts_ms"}
    assert {tables[name].table_type for name in ("artists", "artworks")} == set(TABLE_TYPES)


@pytest.mark.parametrize("table", load_spec(SPEC), ids=lambda t: t.name)
def test_key_partition_and_ordering_fields_are_in_the_avro_schema(table):
    fields = schema_fields(table)
    for column in (table.record_key, table.partition_field, table.ordering_field, table.delete_field):
        assert column in fields, f"{table.name}: {column} not in {table.schema}"


# The builder


@pytest.fixture(params=TABLE_TYPES)
def table_of_each_type(request, spec_copy):
    spec, document = spec_copy
    document["tables"] = [{**document["tables"][0], "table_type": request.param}]
    return load_spec(write(spec, document))[0]


@pytest.mark.parametrize("op", [BULK_INSERT, UPSERT])
def test_streamer_args_for_each_table_type_and_operation(table_of_each_type, op):
    table = table_of_each_type
    args = streamer_args(table, op, BUCKET)
    assert flag_value(args, "--table-type") == table.table_type
    assert flag_value(args, "--op") == op
    assert flag_value(args, "--target-base-path") == f"s3://{BUCKET}/{table.target_path}"
    assert flag_value(args, "--target-table") == table.name
    assert flag_value(args, "--source-ordering-field") == table.ordering_field
    assert flag_value(args, "--sync-tool-classes") == GLUE_SYNC_TOOL
    assert "--enable-sync" in args
    assert "--continuous" not in args
    assert ("--filter-dupes" in args) == (op == BULK_INSERT)
    conf = hoodie_confs(args)
    assert conf["hoodie.datasource.write.recordkey.field"] == table.record_key
    assert conf["hoodie.datasource.write.partitionpath.field"] == table.partition_field
    assert conf["hoodie.datasource.write.precombine.field"] == table.ordering_field
    assert conf["hoodie.streamer.source.dfs.root"] == f"s3://{BUCKET}/{table.source_path}"
    assert conf["hoodie.streamer.schemaprovider.source.schema.file"] == f"s3://{BUCKET}/{table.schema_key}"
    assert conf["hoodie.datasource.hive_sync.database"] == table.database
    assert conf["hoodie.datasource.hive_sync.table"] == table.name
    assert conf["hoodie.datasource.hive_sync.partition_fields"] == table.partition_field
    assert conf["hoodie.payload.delete.field"] == table.delete_field
    assert ("hoodie.compact.inline" in conf) == (table.table_type == "MERGE_ON_READ")


# What EMR runs cannot run here (no Spark): these tests hold the step arguments to what the Hudi documents say
# HoodieStreamer reads.
# - The payload class comes from --payload-class only (HoodieStreamer options, default
#   OverwriteWithLatestAvroPayload: https://hudi.apache.org/docs/hoodie_streaming_ingestion/); a
#   --hoodie-conf hoodie.datasource.write.payload.class is overridden by it.
# - OverwriteWithLatestAvroPayload lets the incoming record win; DefaultHoodieRecordPayload honours the
#   ordering field against the stored record (a late, older change loses) and the delete field/marker
#   (https://hudi.apache.org/docs/record_payload/).
DEFAULT_PAYLOAD = "org.apache.hudi.common.model.DefaultHoodieRecordPayload"


@pytest.mark.parametrize("op", [BULK_INSERT, UPSERT])
def test_deletes_and_the_latest_change_are_configured_where_the_streamer_reads_them(table_of_each_type, op):
    table = table_of_each_type
    args = streamer_args(table, op, BUCKET)
    # BULK_INSERT too: the first commit writes the payload class into hoodie.properties, and compaction of a
    # MERGE_ON_READ table merges with the class stored there.
    assert flag_value(args, "--payload-class") == DEFAULT_PAYLOAD
    assert flag_value(args, "--source-ordering-field") == table.ordering_field
    conf = hoodie_confs(args)
    assert "hoodie.datasource.write.payload.class" not in conf  # ignored by HoodieStreamer: said once, above
    assert conf["hoodie.payload.ordering.field"] == table.ordering_field
    assert conf["hoodie.datasource.write.precombine.field"] == table.ordering_field
    assert (conf["hoodie.payload.delete.field"], conf["hoodie.payload.delete.marker"]) == (
        "__deleted",
        "true",
    )


def test_a_table_without_a_delete_field_still_keeps_the_latest_change(spec_copy):
    spec, document = spec_copy
    del document["defaults"]["delete_field"], document["defaults"]["delete_marker"]
    table = load_spec(write(spec, document))[0]
    args = streamer_args(table, UPSERT, BUCKET)
    assert flag_value(args, "--payload-class") == DEFAULT_PAYLOAD
    assert not any(key.startswith("hoodie.payload.delete") for key in hoodie_confs(args))


# A non-global index looks a key up only in the partition of the incoming record: a record whose partition
# field changes (an artwork reclassified) would be inserted into its new partition and stay in the old one. A
# global index with update.partition.path moves it: inserted into the new partition, deleted from the old
# (https://hudi.apache.org/docs/indexes/, hoodie.simple.index.update.partition.path).
@pytest.mark.parametrize("op", [BULK_INSERT, UPSERT])
def test_a_record_whose_partition_changes_is_moved_not_duplicated(table_of_each_type, op):
    conf = hoodie_confs(streamer_args(table_of_each_type, op, BUCKET))
    assert conf["hoodie.index.type"] == "GLOBAL_SIMPLE"
    assert conf["hoodie.simple.index.update.partition.path"] == "true"


# A partition value with "/" (classification "Photograph/Print") would otherwise become two folder levels,
# which the one-field partition extractor of the catalog sync cannot read
# (https://hudi.apache.org/docs/configurations/, hoodie.datasource.write.partitionpath.urlencode).
@pytest.mark.parametrize("op", [BULK_INSERT, UPSERT])
def test_partition_values_are_url_encoded_in_paths_and_decoded_for_the_catalog(table_of_each_type, op):
    conf = hoodie_confs(streamer_args(table_of_each_type, op, BUCKET))
    assert conf["hoodie.datasource.write.partitionpath.urlencode"] == "true"
    assert conf["hoodie.meta.sync.decode_partition"] == "true"


def test_spark_submit_runs_the_streamer_class_from_the_utilities_bundle():
    table = load_spec(SPEC)[0]
    args = spark_submit_args(table, UPSERT, BUCKET)
    assert args[0] == "spark-submit"
    assert flag_value(args, "--class") == STREAMER_CLASS
    jar = args.index(UTILITIES_JAR)
    assert args[jar + 1 :] == streamer_args(table, UPSERT, BUCKET)


def test_emr_step_runs_spark_submit_through_command_runner_and_spares_the_cluster():
    table = load_spec(SPEC)[1]
    step = emr_step(table, BULK_INSERT, BUCKET)
    assert step["HadoopJarStep"] == {
        "Jar": "command-runner.jar",
        "Args": spark_submit_args(table, BULK_INSERT, BUCKET),
    }
    assert step["ActionOnFailure"] == "CONTINUE"
    assert table.name in step["Name"]


def test_builder_rejects_an_unknown_operation():
    with pytest.raises(TableSpecError, match="artists.*'INSERT_OVERWRITE'"):
        streamer_args(load_spec(SPEC)[0], "INSERT_OVERWRITE")


# Rejected specs: the message names the spec file, the table and the field


def assert_rejected(spec: Path, table: str, field: str, *words: str) -> str:
    with pytest.raises(TableSpecError) as error:
        load_spec(spec)
    message = str(error.value)
    assert str(spec) in message and f"table '{table}'" in message and f"field '{field}'" in message, message
    for word in words:
        assert word in message, message
    assert "Fix:" in message
    return message


@pytest.mark.parametrize("field", [f for f in REQUIRED_FIELDS if f != "name"])
def test_spec_with_a_missing_field_is_rejected(spec_copy, field):
    spec, document = spec_copy
    if field in document["defaults"]:  # artists keeps the default, artworks lacks it
        document["tables"][0][field] = document["defaults"].pop(field)
    document["tables"][1].pop(field, None)
    assert_rejected(write(spec, document), "artworks", field, "missing")


def test_spec_with_an_unknown_table_type_is_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"][0]["table_type"] = "MERGE_ON_WRITE"
    assert_rejected(write(spec, document), "artists", "table_type", "MERGE_ON_WRITE", "COPY_ON_WRITE")


@pytest.mark.parametrize(
    "arg", ["--continuous", "--op", "--filter-dupes", "--table-type=MERGE_ON_READ", "--payload-class"]
)
def test_spec_passing_a_builder_flag_such_as_continuous_is_rejected(spec_copy, arg):
    spec, document = spec_copy
    document["tables"][0]["extra_args"] = ["--source-limit", "1000000", arg]
    assert_rejected(write(spec, document), "artists", "extra_args", arg.split("=")[0])


def test_continuous_is_rejected_because_the_step_would_never_finish(spec_copy):
    spec, document = spec_copy
    document["tables"][1]["extra_args"] = ["--continuous"]
    assert "never finishes" in assert_rejected(write(spec, document), "artworks", "extra_args")


@pytest.mark.parametrize(
    "extra",
    [
        ["--hoodie-conf", "hoodie.index.type=BLOOM"],
        ["--hoodie-conf=hoodie.datasource.write.payload.class=x.OverwriteWithLatestAvroPayload"],
        ["--hoodie-conf", "hoodie.payload.delete.field=op"],
    ],
)
def test_spec_overriding_a_property_the_builder_sets_is_rejected(spec_copy, extra):
    spec, document = spec_copy
    document["tables"][1]["extra_args"] = ["--source-limit", "1000000", *extra]
    key = extra[-1].split("=")[-2].removeprefix("--hoodie-conf=")
    assert_rejected(write(spec, document), "artworks", "extra_args", key)


def test_allowed_extra_args_are_appended(spec_copy):
    spec, document = spec_copy
    document["tables"][0]["extra_args"] = ["--source-limit", "1000000"]
    args = streamer_args(load_spec(write(spec, document))[0], UPSERT, BUCKET)
    assert args[-2:] == ["--source-limit", "1000000"]


@pytest.mark.parametrize("field", ["record_key", "partition_field", "ordering_field", "delete_field"])
def test_spec_naming_a_column_missing_from_the_avro_schema_is_rejected(spec_copy, field):
    spec, document = spec_copy
    document["tables"][0][field] = "no_such_column"
    assert_rejected(write(spec, document), "artists", field, "no_such_column", "artists.avsc")


def test_spec_with_a_missing_schema_file_is_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"][0]["schema"] = "schemas/painters.avsc"
    assert_rejected(write(spec, document), "artists", "schema", "painters.avsc")


@pytest.mark.parametrize(
    "path", ["s3://bucket/hudi/moma/artists/", "/hudi/moma/artists/", "hudi/moma/artists"]
)
def test_spec_with_a_target_path_outside_the_bucket_layout_is_rejected(spec_copy, path):
    spec, document = spec_copy
    document["tables"][0]["target_path"] = path
    assert_rejected(write(spec, document), "artists", "target_path", path)


def test_spec_with_an_unknown_field_is_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"][1]["recordkey"] = "artwork_id"
    assert_rejected(write(spec, document), "artworks", "recordkey", "unknown field")


def test_spec_defining_a_table_twice_is_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"].append(dict(document["tables"][0]))
    assert_rejected(write(spec, document), "artists", "name", "twice")


def test_spec_without_tables_is_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"] = []
    with pytest.raises(TableSpecError, match="no 'tables' list"):
        load_spec(write(spec, document))


@pytest.mark.parametrize(
    "field, value", [("name", "Artists"), ("name", "moma.artists"), ("database", "moma-cdc")]
)
def test_spec_with_a_name_glue_cannot_hold_is_rejected(spec_copy, field, value):
    spec, document = spec_copy
    document["tables"][0][field] = value
    table = value if field == "name" else "artists"
    assert_rejected(write(spec, document), table, field, repr(value), "lower-case")


def test_unquoted_boolean_delete_marker_is_rejected(spec_copy):
    spec, document = spec_copy
    document["defaults"]["delete_marker"] = True
    assert_rejected(write(spec, document), "artists", "delete_marker", "quote it")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("tables: [artists]\n", "table '#1', field '-': entry is str"),
        ("- name: artists\n", "no 'tables' list"),
        ("defaults: [moma]\ntables:\n  - name: artists\n", "'defaults' is not a mapping"),
        ("tables:\n  - name: [artists\n", "not valid YAML"),
    ],
)
def test_spec_of_the_wrong_shape_is_rejected_with_the_file_named(tmp_path, text, problem):
    spec = tmp_path / "tables.yaml"
    spec.write_text(text)
    with pytest.raises(TableSpecError) as error:
        load_spec(spec)
    assert str(spec) in str(error.value) and problem in str(error.value)


@pytest.mark.parametrize(
    "avro_type, nullable",
    [("null", True), (["null", "string"], True), (["string", "int"], False), ("string", False)],
)
def test_a_field_is_nullable_when_its_type_is_null_or_a_union_holding_null(avro_type, nullable):
    from lakehouse.hudi import _nullable

    assert _nullable(avro_type) is nullable


@pytest.mark.parametrize("field, column", [("record_key", "name"), ("ordering_field", "birth_year")])
def test_spec_keying_or_ordering_on_a_nullable_field_is_rejected(spec_copy, field, column):
    spec, document = spec_copy
    document["tables"][0][field] = column
    assert_rejected(write(spec, document), "artists", field, f"'{column}' is nullable")


def test_extra_args_that_are_not_a_list_of_strings_are_rejected(spec_copy):
    spec, document = spec_copy
    document["tables"][0]["extra_args"] = "--source-limit 1000000"
    message = assert_rejected(write(spec, document), "artists", "extra_args")
    assert message == (
        f"{spec}: table 'artists', field 'extra_args': not a list of strings. "
        "Fix: write a YAML list of strings."
    )


@pytest.mark.parametrize(
    "schema", ['{"type": "string"}', '{"type": "record", "fields": {}}', '{"type": "enum", "fields": []}']
)
def test_a_schema_file_that_is_not_an_avro_record_is_rejected(spec_copy, schema):
    spec, document = spec_copy
    (spec.parent / document["tables"][0]["schema"]).write_text(schema)
    message = assert_rejected(write(spec, document), "artists", "schema", "not an Avro record schema")
    assert message.endswith("Fix: fix the Avro schema.")


def test_an_entry_breaking_several_rules_reports_the_first_in_spec_order(spec_copy):
    spec, document = spec_copy
    # An unknown field is checked before the table type, the table type before the folders.
    document["tables"][0].update(recordkey="x", table_type="MERGE_ON_WRITE", target_path="/abs")
    assert_rejected(write(spec, document), "artists", "recordkey", "unknown field")
    del document["tables"][0]["recordkey"]
    assert_rejected(write(spec, document), "artists", "table_type", "MERGE_ON_WRITE")


# ingest_group's upload_schema: every run puts the bundle's Avro schema where the step reads it (moto's S3).


def test_every_run_uploads_the_bundle_s_schema_over_the_one_an_earlier_run_left():
    """The key exists from the run before (the hourly upsert meets it every hour, and a deploy may change the
    schema): the upload must replace it, never fail on it nor keep the old schema."""
    from datetime import datetime, timezone

    from airflow.sdk import DAG

    from lakehouse.defaults import dag_settings
    from lakehouse.hudi import ingest_group
    from local_aws.server import MotoServer
    from tests.dags.rendering import manual_run, render_task

    (table, *_) = load_spec(SPEC)
    with DAG(dag_id="hudi__99_upload_probe", schedule=None, **dag_settings()) as dag:
        ingest_group(table, UPSERT, SPEC)
    upload = render_task(
        dag.task_dict[f"{table.name}.upload_schema"],
        manual_run(dag, datetime(2024, 3, 2, tzinfo=timezone.utc)),
    )
    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket=upload.dest_bucket)
        s3.put_object(
            Bucket=upload.dest_bucket, Key=table.schema_key, Body=b'{"type": "record", "fields": []}'
        )
        for _ in range(2):  # the next run finds this run's upload
            upload.execute({})
            body = s3.get_object(Bucket=upload.dest_bucket, Key=table.schema_key)["Body"].read()
            assert body == (SPEC.parent / table.schema).read_bytes()
