"""config/variables.json lists exactly the Variables the DAGs read, each with a description and a value.

A use is `var.value.NAME` (or `var.value.get("NAME")`) in a template: in SQL and other text files under
dags/ and sql/, and in string constants of the Python under dags/ and plugins/. Docstrings and the text of
raised errors are documentation, not uses.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

USE = re.compile(r"""var\.value(?:\.get\(\s*["'](\w+)["']|\.(?!get\()([A-Za-z_]\w*))""")
TEXT_SUFFIXES = {".sql", ".yaml", ".yml", ".json", ".j2", ".txt"}


def names_in(text: str) -> set[str]:
    return {a or b for a, b in USE.findall(text)}


def python_template_strings(source: str) -> list[str]:
    tree = ast.parse(source)
    documentation: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            documentation.update(id(inner) for inner in ast.walk(node))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                documentation.add(id(body[0].value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documentation
    ]


def variable_uses(repo_root: Path) -> dict[str, set[str]]:
    """Variable name -> files (relative) that use it."""
    uses: dict[str, set[str]] = {}
    for folder in ("dags", "plugins", "sql"):
        for path in sorted((repo_root / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py":
                names = set().union(*map(names_in, python_template_strings(path.read_text())))
            elif path.suffix in TEXT_SUFFIXES:
                names = names_in(path.read_text())
            else:
                continue
            for name in names:
                uses.setdefault(name, set()).add(str(path.relative_to(repo_root)))
    return uses


@pytest.fixture(scope="module")
def variables(repo_root) -> dict:
    return json.loads((repo_root / "config" / "variables.json").read_text())


@pytest.fixture(scope="module")
def uses(repo_root) -> dict[str, set[str]]:
    return variable_uses(repo_root)


def test_the_dags_read_variables(uses):
    assert {"redshift_cluster_id", "lakehouse_bucket", "redshift_iam_role_arn"} <= set(uses)


def test_every_used_variable_is_listed(uses, variables):
    missing = {name: sorted(files) for name, files in uses.items() if name not in variables}
    assert (
        not missing
    ), f"Variables used but not in config/variables.json: {missing}. Fix: add each with a description."


def test_every_listed_variable_is_used(uses, variables):
    unused = sorted(set(variables) - set(uses))
    assert not unused, f"config/variables.json lists Variables nothing reads: {unused}. Fix: remove them."


def test_every_entry_has_a_description_and_a_value(variables):
    assert variables
    for name, entry in variables.items():
        assert set(entry) == {"description", "value"}, f"{name}: keys must be description and value"
        assert len(entry["description"].strip()) >= 15, f"{name}: describe what the Variable is for"
        assert isinstance(entry["value"], str) and entry["value"], f"{name}: needs a local/test value"


def test_docstrings_and_error_texts_are_not_uses():
    source = '''
"""Uses {{ var.value.in_docstring }}."""
def f():
    raise ValueError("pass '{{ var.value.in_error }}'")
SQL = "{{ var.value.real_use }} {{ var.value.get('by_get') }}"
'''
    found = set().union(*map(names_in, python_template_strings(source)))
    assert found == {"real_use", "by_get"}
