"""sample_data.avro: a Hudi source's sample file from JSON rows, checked against the table's schema."""

from __future__ import annotations

import json

import fastavro
import pytest

import repository
from sample_data.avro import main

SCHEMA = repository.DAGS / "hudi" / "schemas" / "artists.avsc"
ROW = {"artist_id": 1, "name": "Robert Arneson", "nationality": "American", "__source_ts_ms": 1704067200000}


def rows_file(tmp_path, *rows) -> str:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return str(path)


def test_writes_the_rows_as_an_avro_file_of_the_schema_the_same_bytes_each_time(tmp_path, capsys):
    rows = rows_file(tmp_path, ROW, {**ROW, "artist_id": 2, "__deleted": "true"})
    first, second = tmp_path / "a" / "one.avro", tmp_path / "two.avro"
    assert main([str(SCHEMA), rows, str(first)]) == 0 and main([str(SCHEMA), rows, str(second)]) == 0
    assert f"{first}: 2 rows" in capsys.readouterr().out
    assert first.read_bytes() == second.read_bytes()
    with open(first, "rb") as handle:
        reader = fastavro.reader(handle)
        records = list(reader)
        assert reader.writer_schema["name"] == "moma.public.artists.Value"
    assert [record["artist_id"] for record in records] == [1, 2]
    assert records[0]["gender"] is None and records[1]["__deleted"] == "true"


@pytest.mark.parametrize(
    "bad_row, problem",
    [
        ({**ROW, "artist_id": "one"}, "rows.jsonl:2: does not match the schema"),
        ({k: v for k, v in ROW.items() if k != "__source_ts_ms"}, "rows.jsonl:2: does not match the schema"),
        ({**ROW, "painter": True}, "rows.jsonl:2: 'painter' is not a field of the schema"),
        ("{not json", "rows.jsonl:2: not a JSON object"),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(tmp_path, capsys, bad_row, problem):
    out = tmp_path / "out.avro"
    assert main([str(SCHEMA), rows_file(tmp_path, ROW, bad_row), str(out)]) == 1
    error = capsys.readouterr().err
    assert problem in error and "Fix:" in error
    assert not out.exists()


def test_no_rows_is_an_error(tmp_path, capsys):
    assert main([str(SCHEMA), rows_file(tmp_path), str(tmp_path / "out.avro")]) == 1
    assert "no rows. Fix:" in capsys.readouterr().err
