"""Writes a sample Avro file for a Hudi source, as the Kafka Connect S3 sink writes its topic files.

    tools/venv.sh python -m sample_data.avro dags/hudi/schemas/artists.avsc rows.jsonl \\
        tools/sample_data/bucket/kafka/topics/moma.public.artists/partition=0/moma.public.artists+0+0000000000.avro

ROWS.jsonl holds one JSON object per line with the schema's fields (a nullable field may be left out). Every
row is checked against the schema first; a bad row is named by its line and nothing is written. The file
is byte-stable (a fixed sync marker), so writing the same rows again changes nothing in git.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import fastavro

SYNC_MARKER = b"lakehouse-sample"  # 16 bytes: Avro's sync marker, fixed so the same rows give the same file


def read_rows(rows_file: Path, schema: dict) -> list[dict]:
    defaults = {field["name"]: field.get("default") for field in schema["fields"] if "default" in field}
    rows = []
    for number, line in enumerate(rows_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = {**defaults, **json.loads(line)}
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{rows_file}:{number}: not a JSON object ({error.msg}). Fix: one object per line."
            )
        unknown = sorted(set(row) - {field["name"] for field in schema["fields"]})
        if unknown:
            raise ValueError(
                f"{rows_file}:{number}: {unknown[0]!r} is not a field of the schema. Fix: remove it."
            )
        try:
            fastavro.validate(row, fastavro.parse_schema(schema))
        except fastavro.validation.ValidationError as error:
            raise ValueError(
                f"{rows_file}:{number}: does not match the schema ({error}). Fix: give each field its type."
            ) from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{rows_file}: no rows. Fix: write at least one JSON object.")
    return rows


def write(schema_file: Path, rows_file: Path, out: Path) -> int:
    schema = json.loads(schema_file.read_text())
    rows = read_rows(rows_file, schema)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        fastavro.writer(handle, fastavro.parse_schema(schema), rows, sync_marker=SYNC_MARKER)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data.avro", description=__doc__.split("\n\n")[0])
    parser.add_argument("schema", type=Path, help="the table's .avsc file")
    parser.add_argument("rows", type=Path, help="JSON lines, one object per row")
    parser.add_argument("out", type=Path, help="the Avro file to write")
    args = parser.parse_args(argv)
    try:
        count = write(args.schema, args.rows, args.out)
    except (OSError, ValueError) as error:
        print(f"sample_data.avro: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {count} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
