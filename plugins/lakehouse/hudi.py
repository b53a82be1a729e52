"""Hudi tables described as data: the table spec, its validation, and the HoodieStreamer EMR steps it becomes.

The spec (YAML, e.g. dags/hudi/tables.yaml) lists each table: name, table type, record key, partition field,
ordering field, the Avro schema of its source, source and target paths (relative to the lakehouse bucket) and
the Glue database. `load_spec` validates it completely before any task exists, so a bad spec fails the DAG
import with a message naming the spec file, the table and the field. `emr_step` turns one table and one
write operation into a spark-submit step; DAG files never write argument lists by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.providers.amazon.aws.transfers.local_to_s3 import LocalFilesystemToS3Operator
from airflow.sdk import TaskGroup

from lakehouse import layout
from lakehouse.defaults import AWS_CONN_ID
from lakehouse.table_spec import (
    Fail,
    TableSpecError,
    entries,
    fail,
    read_document,
    refuse_duplicate_names,
    refuse_unknown_fields,
    require_fields,
    require_mapping,
)

# Where the spec sits in the DAG folder: the bundle ships it there, dags/.airflowignore keeps it from parsing.
SPEC = PurePosixPath("hudi", "tables.yaml")
EMR_CLUSTER_ID = "{{ var.value.emr_cluster_id }}"

STREAMER_CLASS = "org.apache.hudi.utilities.streamer.HoodieStreamer"
GLUE_SYNC_TOOL = "org.apache.hudi.aws.sync.AwsGlueCatalogSyncTool"
# Where EMR (6.15+/7.x) installs Hudi: the utilities slim bundle runs the streamer, the Spark and AWS bundles
# bring the writer and the Glue Data Catalog sync.
UTILITIES_JAR = "/usr/lib/hudi/hudi-utilities-slim-bundle.jar"
EXTRA_JARS = ("/usr/lib/hudi/hudi-spark-bundle.jar", "/usr/lib/hudi/hudi-aws-bundle.jar")

PARTITION_EXTRACTOR = "org.apache.hudi.hive.MultiPartKeysValueExtractor"
# HoodieStreamer takes the payload class from --payload-class only (default OverwriteWithLatestAvroPayload:
# the incoming record always wins, and hoodie.payload.delete.field is not read). DefaultHoodieRecordPayload
# keeps the record with the greatest ordering field, also against the stored one, and deletes on the marker.
PAYLOAD_CLASS = "org.apache.hudi.common.model.DefaultHoodieRecordPayload"
# Properties HoodieStreamer overrides with its own flags: a spec setting them would silently have no effect.
STREAMER_OWNED_CONF = ("hoodie.datasource.write.payload.class",)
# Glue lower-cases table and database names; the table name is also the task group id.
GLUE_NAME = re.compile(r"[a-z][a-z0-9_]*")
TABLE_TYPES = ("COPY_ON_WRITE", "MERGE_ON_READ")
BULK_INSERT, UPSERT = "BULK_INSERT", "UPSERT"
OPERATIONS = (BULK_INSERT, UPSERT)
REQUIRED_FIELDS = (
    "name",
    "table_type",
    "record_key",
    "partition_field",
    "ordering_field",
    "schema",
    "source_path",
    "target_path",
    "database",
)
OPTIONAL_FIELDS = ("delete_field", "delete_marker", "extra_args")
# Flags the builder sets itself (from the spec and the operation); a spec may not pass them again.
# --continuous never ends, so a scheduled EMR step running it would never finish.
MANAGED_FLAGS = (
    "--continuous",
    "--op",
    "--table-type",
    "--filter-dupes",
    "--target-base-path",
    "--target-table",
    "--source-class",
    "--source-ordering-field",
    "--payload-class",
    "--schemaprovider-class",
    "--enable-sync",
    "--sync-tool-classes",
    "--props",
)


@dataclass(frozen=True)
class HudiTable:
    name: str
    table_type: str
    record_key: str
    partition_field: str
    ordering_field: str
    schema: str  # path of the .avsc file, relative to the spec file
    source_path: str  # relative to the lakehouse bucket: where the Kafka Connect S3 sink writes the topic
    target_path: str  # relative to the lakehouse bucket: the Hudi table's base path
    database: str
    delete_field: str | None = None  # a row whose delete_field == delete_marker deletes the record
    delete_marker: str = "true"
    extra_args: tuple[str, ...] = ()

    @property
    def schema_key(self) -> str:
        """Where the DAG uploads the Avro schema in the lakehouse bucket, for the streamer to read."""
        return layout.hudi_schema_key(Path(self.schema).name)


def avro_fields(schema_file: Path) -> dict[str, object]:
    """{field name: Avro type} of the top-level fields of an Avro record schema (.avsc)."""
    schema = json.loads(schema_file.read_text())
    if schema.get("type") != "record" or not isinstance(schema.get("fields"), list):
        raise ValueError(f"{schema_file}: not an Avro record schema (type 'record' with a 'fields' list)")
    return {field["name"]: field["type"] for field in schema["fields"]}


def _nullable(avro_type: object) -> bool:
    return avro_type == "null" or (isinstance(avro_type, list) and "null" in avro_type)


def parse_table(entry: Any, spec_file: Path, position: int) -> HudiTable:
    """One validated table from its spec entry (defaults already merged); the first rule it breaks raises."""
    table = require_mapping(entry, spec_file, position)
    fail_here = partial(fail, spec_file, table)
    for validate in (
        _require_fields,
        _require_glue_names,
        _refuse_unknown_fields,
        _require_table_type,
        _require_bucket_folders,
        _require_string_delete_marker,
        _refuse_managed_flags,
    ):
        validate(entry, fail_here)
    schema_file = spec_file.parent / entry["schema"]
    _require_schema_columns(entry, _schema_fields(schema_file, fail_here), schema_file.name, fail_here)
    parsed = HudiTable(
        name=table,
        table_type=entry["table_type"],
        record_key=entry["record_key"],
        partition_field=entry["partition_field"],
        ordering_field=entry["ordering_field"],
        schema=entry["schema"],
        source_path=entry["source_path"],
        target_path=entry["target_path"],
        database=entry["database"],
        delete_field=entry.get("delete_field"),
        delete_marker=entry.get("delete_marker", "true"),
        extra_args=tuple(entry.get("extra_args") or ()),
    )
    _refuse_managed_conf(parsed, fail_here)
    return parsed


def _require_fields(entry: dict, fail: Fail) -> None:
    require_fields(entry, fail, REQUIRED_FIELDS)


def _require_glue_names(entry: dict, fail: Fail) -> None:
    for field in ("name", "database"):
        if not GLUE_NAME.fullmatch(entry[field]):
            raise fail(
                field,
                f"{entry[field]!r} is not a Glue Data Catalog name",
                "use lower-case letters, digits and '_', starting with a letter",
            )


def _refuse_unknown_fields(entry: dict, fail: Fail) -> None:
    refuse_unknown_fields(entry, fail, REQUIRED_FIELDS + OPTIONAL_FIELDS)


def _require_table_type(entry: dict, fail: Fail) -> None:
    if entry["table_type"] not in TABLE_TYPES:
        raise fail("table_type", f"unknown table type {entry['table_type']!r}", f"use one of {TABLE_TYPES}")


def _require_bucket_folders(entry: dict, fail: Fail) -> None:
    for field in ("source_path", "target_path"):
        if "://" in entry[field] or entry[field].startswith("/") or not entry[field].endswith("/"):
            raise fail(
                field,
                f"{entry[field]!r} is not a folder relative to the lakehouse bucket",
                "write it like 'hudi/moma/artists/' (no scheme, no leading slash, trailing slash)",
            )


def _require_string_delete_marker(entry: dict, fail: Fail) -> None:
    if not isinstance(entry.get("delete_marker", ""), str):
        raise fail(
            "delete_marker",
            f"{entry['delete_marker']!r} is not a string (YAML reads true unquoted as a boolean)",
            'quote it: delete_marker: "true"',
        )


def _refuse_managed_flags(entry: dict, fail: Fail) -> None:
    extra_args = entry.get("extra_args") or []
    if not isinstance(extra_args, list) or not all(isinstance(arg, str) for arg in extra_args):
        raise fail("extra_args", "not a list of strings", "write a YAML list of strings")
    for arg in extra_args:
        flag = arg.partition("=")[0]
        if flag in MANAGED_FLAGS:
            why = (
                "runs forever, so the EMR step never finishes"
                if flag == "--continuous"
                else "set by the builder"
            )
            raise fail("extra_args", f"'{flag}' is not allowed ({why})", f"remove '{flag}'")


def _schema_fields(schema_file: Path, fail: Fail) -> dict[str, object]:
    if not schema_file.is_file():
        raise fail("schema", f"no file {schema_file}", "point it at the table's .avsc file")
    try:
        return avro_fields(schema_file)
    except (ValueError, KeyError, TypeError) as error:
        raise fail("schema", str(error), "fix the Avro schema") from error


def _require_schema_columns(entry: dict, fields: dict[str, object], schema_name: str, fail: Fail) -> None:
    for field in ("record_key", "partition_field", "ordering_field", "delete_field"):
        column = entry.get(field)
        if column is not None and column not in fields:
            raise fail(
                field,
                f"'{column}' is not a field of the Avro schema {schema_name}",
                f"use one of {sorted(fields)}",
            )
    for field in ("record_key", "ordering_field"):
        if _nullable(fields[entry[field]]):
            raise fail(
                field,
                f"'{entry[field]}' is nullable in {schema_name} (Hudi fails on a null)",
                "choose a field of a non-null type",
            )


def _refuse_managed_conf(table: HudiTable, fail: Fail) -> None:
    managed = set(hoodie_conf(table)) | set(STREAMER_OWNED_CONF)
    for key in _hoodie_conf_keys(list(table.extra_args)):
        if key in managed:
            raise fail(
                "extra_args",
                f"'--hoodie-conf {key}=...' overrides a property the builder sets",
                "remove it, or change the builder (lakehouse.hudi.hoodie_conf) for every table",
            )


def _hoodie_conf_keys(args: list[str]) -> list[str]:
    """The property keys of the --hoodie-conf pairs in `args` (`--hoodie-conf k=v` or `--hoodie-conf=k=v`)."""
    pairs = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--hoodie-conf"]
    pairs += [arg.partition("=")[2] for arg in args if arg.startswith("--hoodie-conf=")]
    return [pair.partition("=")[0] for pair in pairs]


def load_spec(spec_file: Path | str) -> tuple[HudiTable, ...]:
    """Every table of the spec, validated; raises TableSpecError naming the file, table and field."""
    spec_file = Path(spec_file)
    tables = tuple(
        parse_table(entry, spec_file, n)
        for n, entry in enumerate(entries(spec_file, read_document(spec_file)), 1)
    )
    refuse_duplicate_names(spec_file, [table.name for table in tables])
    return tables


def hoodie_conf(table: HudiTable, bucket: str = layout.BUCKET_TEMPLATE) -> dict[str, str]:
    """The Hudi properties of a table: keys, index, source, schema, Glue sync, MERGE_ON_READ compaction."""
    conf = {
        "hoodie.datasource.write.recordkey.field": table.record_key,
        "hoodie.datasource.write.partitionpath.field": table.partition_field,
        "hoodie.datasource.write.precombine.field": table.ordering_field,
        # What DefaultHoodieRecordPayload compares with the stored record: the latest change by source commit
        # time wins, also when an older change arrives late.
        "hoodie.payload.ordering.field": table.ordering_field,
        "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.SimpleKeyGenerator",
        "hoodie.datasource.write.hive_style_partitioning": "true",
        # A value with "/" stays one folder level (and one partition value for the catalog sync).
        "hoodie.datasource.write.partitionpath.urlencode": "true",
        "hoodie.meta.sync.decode_partition": "true",
        # A CDC source changes partition fields too: a global index finds the key in any partition and moves
        # the record (insert into the new partition, delete from the old) instead of duplicating it. The cost
        # is a lookup over every partition's keys on each upsert, fine at these tables' size.
        "hoodie.index.type": "GLOBAL_SIMPLE",
        "hoodie.simple.index.update.partition.path": "true",
        "hoodie.streamer.source.dfs.root": layout.s3_uri(bucket, table.source_path),
        "hoodie.streamer.schemaprovider.source.schema.file": layout.s3_uri(bucket, table.schema_key),
        "hoodie.datasource.hive_sync.database": table.database,
        "hoodie.datasource.hive_sync.table": table.name,
        "hoodie.datasource.hive_sync.partition_fields": table.partition_field,
        "hoodie.datasource.hive_sync.partition_extractor_class": PARTITION_EXTRACTOR,
        "hoodie.datasource.hive_sync.auto_create_database": "true",
    }
    if table.delete_field:
        conf["hoodie.payload.delete.field"] = table.delete_field
        conf["hoodie.payload.delete.marker"] = table.delete_marker
    if table.table_type == "MERGE_ON_READ":
        # No compaction service runs beside a batch step: compact inline every few delta commits.
        conf["hoodie.compact.inline"] = "true"
        conf["hoodie.compact.inline.max.delta.commits"] = "4"
    return conf


def streamer_args(table: HudiTable, op: str, bucket: str = layout.BUCKET_TEMPLATE) -> list[str]:
    """The HoodieStreamer arguments for one run of `op` on `table`."""
    if op not in OPERATIONS:
        raise TableSpecError(f"table '{table.name}': operation {op!r} is not one of {OPERATIONS}")
    args = [
        "--table-type",
        table.table_type,
        "--op",
        op,
        "--source-class",
        "org.apache.hudi.utilities.sources.AvroDFSSource",
        "--source-ordering-field",
        table.ordering_field,
        # Both operations: the first commit writes the payload class into hoodie.properties, where compaction
        # of a MERGE_ON_READ table reads it.
        "--payload-class",
        PAYLOAD_CLASS,
        "--schemaprovider-class",
        "org.apache.hudi.utilities.schema.FilebasedSchemaProvider",
        "--target-base-path",
        layout.s3_uri(bucket, table.target_path),
        "--target-table",
        table.name,
        "--enable-sync",
        "--sync-tool-classes",
        GLUE_SYNC_TOOL,
    ]
    conf = hoodie_conf(table, bucket)
    if op == BULK_INSERT:
        # Re-running the initial load adds no key twice, and a key changed several times in the backlog
        # keeps its latest change. Hudi refuses --filter-dupes with UPSERT: it would drop the updates.
        args.append("--filter-dupes")
        conf["hoodie.combine.before.insert"] = "true"
    for key, value in conf.items():
        args += ["--hoodie-conf", f"{key}={value}"]
    return args + list(table.extra_args)


def spark_submit_args(table: HudiTable, op: str, bucket: str = layout.BUCKET_TEMPLATE) -> list[str]:
    """`spark-submit` running HoodieStreamer once (never --continuous) for `table`."""
    return [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--class",
        STREAMER_CLASS,
        "--conf",
        "spark.serializer=org.apache.spark.serializer.KryoSerializer",
        "--conf",
        "spark.sql.extensions=org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
        "--jars",
        ",".join(EXTRA_JARS),
        UTILITIES_JAR,
        *streamer_args(table, op, bucket),
    ]


def emr_step(table: HudiTable, op: str, bucket: str = layout.BUCKET_TEMPLATE) -> dict[str, Any]:
    """The EMR AddJobFlowSteps step for one HoodieStreamer run. A failed step leaves the cluster running."""
    return {
        "Name": f"hudi {op.lower()} {table.database}.{table.name}",
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": spark_submit_args(table, op, bucket)},
    }


def ingest_group(table: HudiTable, op: str, spec_file: Path) -> TaskGroup:
    """upload_schema -> add_step -> wait_for_step for one table: one HoodieStreamer run on the EMR cluster.

    The Avro schema ships with the DAG bundle beside the spec; the worker uploads its copy to the lakehouse
    bucket (layout.HUDI_SCHEMAS_PREFIX) so the step reads the schema of the deployed version.
    """
    with TaskGroup(
        group_id=table.name, tooltip=f"HoodieStreamer {op} into {table.database}.{table.name}"
    ) as group:
        upload_schema = LocalFilesystemToS3Operator(
            task_id="upload_schema",
            filename=str(Path(spec_file).parent / table.schema),
            dest_bucket=layout.BUCKET_TEMPLATE,
            dest_key=table.schema_key,
            replace=True,
            aws_conn_id=AWS_CONN_ID,
        )
        add_step = EmrAddStepsOperator(
            task_id="add_step",
            job_flow_id=EMR_CLUSTER_ID,
            steps=[emr_step(table, op)],
            aws_conn_id=AWS_CONN_ID,
        )
        wait_for_step = EmrStepSensor(
            task_id="wait_for_step",
            job_flow_id=EMR_CLUSTER_ID,
            step_id=f"{{{{ ti.xcom_pull(task_ids='{add_step.task_id}')[0] }}}}",
            aws_conn_id=AWS_CONN_ID,
            mode="reschedule",
            poke_interval=60,
        )
        upload_schema >> add_step >> wait_for_step
    return group
