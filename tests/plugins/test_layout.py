"""lakehouse.layout: the one place that spells S3 keys, with one slash rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse import layout

PREFIXES = {name: value for name, value in vars(layout).items() if name.endswith("_PREFIX")}
TOP_FOLDERS = sorted({value.split("/")[0] + "/" for value in PREFIXES.values()})
PLUGIN_FOLDER = Path(layout.__file__).parent


def test_the_layout_has_a_prefix_per_stage():
    assert sorted(PREFIXES) == [
        "GOLD_PREFIX",
        "HUDI_SCHEMAS_PREFIX",
        "INCREMENTAL_PREFIX",
        "RAW_PREFIX",
        "REFINED_PREFIX",
        "UNLOAD_PREFIX",
    ]


@pytest.mark.parametrize("name", sorted(PREFIXES))
def test_every_prefix_ends_with_one_slash(name):
    value = PREFIXES[name]
    assert value.endswith("/") and not value.endswith("//") and not value.startswith("/"), (name, value)


def test_table_prefixes_are_folders_under_their_stage():
    assert layout.full_prefix("sales") == "raw/tickit/sales/"
    assert layout.incremental_prefix("sales", "2008-03-01") == "raw/tickit_incremental/sales/ds=2008-03-01/"
    assert layout.refined_prefix("sales") == "refined/tickit/sales/"
    assert layout.gold_prefix("sales_by_date") == "gold/tickit/sales_by_date/"
    assert layout.full_key("sales") == "raw/tickit/sales/sales_pipe.txt.gz"
    # the key the sample data writes for one day, under the prefix that day's COPY reads
    assert (
        layout.incremental_key("sales", "2008-03-01")
        == "raw/tickit_incremental/sales/ds=2008-03-01/sales_pipe.txt.gz"
    )
    assert layout.hudi_schema_key("artists.avsc") == "artifacts/hudi/schemas/artists.avsc"


def test_a_raw_table_prefix_does_not_match_a_longer_table_name():
    # Why the slash rule: S3 and COPY match prefixes by string, so "sale" must not reach "sales".
    assert not layout.full_key("sales").startswith(layout.full_prefix("sale"))


def test_s3_uri_joins_the_bucket_and_the_key():
    assert layout.s3_uri("lake", layout.UNLOAD_PREFIX) == "s3://lake/unload/tickit/sales_by_category/"
    assert layout.s3_uri(layout.BUCKET_TEMPLATE, "k") == "s3://{{ var.value.lakehouse_bucket }}/k"


def key_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string in code (not a docstring) that spells an S3 key, the bucket's template or
    builds an s3:// URI."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and str(first.value).startswith("s3://"):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            spelled = node.value.startswith(tuple(TOP_FOLDERS)) or node.value.startswith("s3://{")
            if spelled or "var.value.lakehouse_bucket" in node.value:
                found.append((node.lineno, node.value))
    return found


def test_key_literals_finds_keys_and_uri_builders_but_not_docstrings():
    source = (
        '"""Files go to raw/tickit/."""\n'
        'GOLD = "gold/tickit"\n'
        'uri = f"s3://{bucket}/{key}"\n'
        'ok = "s3://"\n'
        'BUCKET = "{{ var.value.lakehouse_bucket }}"\n'
        "def f():\n"
        '    """Reads refined/tickit/."""\n'
    )
    assert key_literals(source) == [
        (2, "gold/tickit"),
        (3, "f's3://{bucket}/{key}'"),
        (5, "{{ var.value.lakehouse_bucket }}"),
    ]


def test_no_s3_key_is_spelled_outside_the_layout(dags_folder):
    files = sorted(dags_folder.glob("*.py")) + sorted(PLUGIN_FOLDER.glob("*.py"))
    assert len(files) > 10 and PLUGIN_FOLDER / "glue.py" in files
    spelled = [
        f"{path.name}:{line}: {text}"
        for path in files
        if path.name != "layout.py"
        for line, text in key_literals(path.read_text())
    ]
    assert spelled == [], "S3 keys belong in lakehouse/layout.py:\n" + "\n".join(spelled)
