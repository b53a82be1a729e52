"""The Avro schemas of the Hudi sources are valid Avro and read what the Kafka Connect S3 sink writes."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from lakehouse.hudi import load_spec
import repository

SPEC = repository.DAGS / "hudi" / "tables.yaml"
TABLES = load_spec(SPEC)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_schema_is_valid_avro_named_like_the_debezium_value(table):
    schema = fastavro.parse_schema(json.loads((SPEC.parent / table.schema).read_text()))
    # Avro matches reader and writer records by name: Debezium names the value schema <topic>.Value.
    assert schema["name"] == f"moma.public.{table.name}.Value"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_schema_reads_a_flattened_delete_written_by_the_sink(table):
    """A delete as ExtractNewRecordState (rewrite mode) emits it: key, __op 'd', __deleted 'true'."""
    schema = fastavro.parse_schema(json.loads((SPEC.parent / table.schema).read_text()))
    written = {
        table.record_key: 7,
        table.ordering_field: 1714550400000,
        "__op": "d",
        table.delete_field: "true",
    }
    buffer = io.BytesIO()
    fastavro.writer(buffer, schema, [written])
    buffer.seek(0)
    (read,) = fastavro.reader(buffer, reader_schema=schema)
    assert read[table.record_key] == 7 and read[table.partition_field] is None
    assert read[table.delete_field] == table.delete_marker
