"""What the table specs under dags/ share: reading the YAML, the error that names file, table and field.

A spec is a YAML document with a `tables` list of mappings and optional `defaults` merged into each entry.
Each kind of table validates its own fields (lakehouse.hudi, lakehouse.redshift_tables); a bad entry fails
the import of every DAG file that reads the spec, and the DAG gate reports it as the rule `table-spec`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import yaml

# Specs are read on every parse of the DAG files that use them: libyaml's loader when present (it is on MWAA).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TableSpecError(ValueError):
    """A table spec entry the DAGs cannot be built from; the DAG gate reports it as its own rule."""

    gate_rule = "table-spec"
    gate_fix = "correct the table spec entry the message names"


# A validator's way to fail: (field, problem, fix) -> the error naming the spec file and the table.
Fail = Callable[[str, str, str], TableSpecError]


def fail(spec_file: Path, table: str, field: str, problem: str, fix: str) -> TableSpecError:
    return TableSpecError(f"{spec_file}: table '{table}', field '{field}': {problem}. Fix: {fix}.")


def read_document(spec_file: Path) -> dict[str, Any]:
    """The spec's top-level mapping, with a non-empty `tables` list; raises TableSpecError otherwise."""
    try:
        document = yaml.load(spec_file.read_text(), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as error:
        raise TableSpecError(
            f"{spec_file}: not valid YAML: {error}. Fix: correct the YAML syntax."
        ) from error
    except OSError as error:
        raise TableSpecError(
            f"{spec_file}: cannot be read ({error.strerror}). Fix: restore the file."
        ) from error
    entries = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise TableSpecError(f"{spec_file}: no 'tables' list. Fix: list at least one table under 'tables:'.")
    return document


def entries(spec_file: Path, document: dict[str, Any]) -> list[Any]:
    """The `tables` entries with the spec's `defaults` merged in (an entry's own value wins)."""
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise TableSpecError(
            f"{spec_file}: 'defaults' is not a mapping. Fix: write 'defaults:' as key: value lines."
        )
    return [{**defaults, **entry} if isinstance(entry, dict) else entry for entry in document["tables"]]


def require_mapping(entry: Any, spec_file: Path, position: int) -> str:
    """The entry's table name for messages (`#<position>` until it has one); refuses a non-mapping."""
    if not isinstance(entry, dict):
        raise fail(spec_file, f"#{position}", "-", f"entry is {type(entry).__name__}", "write a mapping")
    return str(entry.get("name") or f"#{position}")


def refuse_duplicate_names(spec_file: Path, names: list[str]) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise fail(spec_file, duplicates[0], "name", "defined twice", "give each table a unique name")


def require_fields(entry: dict, fail: Fail, required: tuple[str, ...]) -> None:
    """Every required field is a non-empty string."""
    for field in required:
        value = entry.get(field)
        if not isinstance(value, str) or not value.strip():
            raise fail(field, "missing or empty", f"give '{field}' a value")


def refuse_unknown_fields(entry: dict, fail: Fail, known: tuple[str, ...]) -> None:
    """No field outside `known` (a typo would otherwise be ignored silently); every unknown one is named."""
    unknown = sorted(set(entry) - set(known))
    if unknown:
        also = f" (also unknown: {', '.join(map(repr, unknown[1:]))})" if unknown[1:] else ""
        raise fail(unknown[0], f"unknown field{also}", f"use only {known}")
