"""The Airflow 2 import paths of tools/gate/policy.toml, in any import form (rules.airflow_2_imports)."""

from __future__ import annotations

import dataclasses

import pytest

from gate.rules import airflow_2_imports

AIRFLOW_2 = {
    "from airflow import DAG": "line 1: airflow.DAG (use airflow.sdk)",
    "from airflow.models import DAG, Variable": "line 1: airflow.models (use airflow.sdk",
    "from airflow.models.baseoperator import chain": "line 1: airflow.models.baseoperator (use airflow.sdk",
    "import airflow.operators.empty": "line 1: airflow.operators.empty (use airflow.providers.standard",
    "from airflow.decorators import task": "line 1: airflow.decorators (use airflow.sdk",
    "x = 1\nfrom airflow.utils.task_group import TaskGroup": "line 2: airflow.utils.task_group (use",
}
AIRFLOW_3 = [
    "from airflow.sdk import DAG, Variable, chain",
    "from airflow.providers.standard.operators.empty import EmptyOperator",
    "from airflow.providers.amazon.aws.hooks.s3 import S3Hook",
    "from .models import DAG",
    "import airflow",
    "from airflow.exceptions import AirflowException",
    "# from airflow.models import DAG  (a comment)",
]


@pytest.mark.parametrize("source", sorted(AIRFLOW_2))
def test_an_airflow_2_import_is_found_with_its_line_and_replacement(tmp_path, policy, source):
    path = tmp_path / "dag.py"
    path.write_text(source + "\n")

    found = airflow_2_imports(path, policy)

    assert len(found) == 1 and found[0].startswith(AIRFLOW_2[source]), found


@pytest.mark.parametrize("source", AIRFLOW_3)
def test_airflow_3_and_provider_imports_pass(tmp_path, policy, source):
    path = tmp_path / "dag.py"
    path.write_text(source + "\n")

    assert airflow_2_imports(path, policy) == []


def test_the_plugins_use_airflow_3_imports_only(repo_root, policy):
    modules = sorted((repo_root / "plugins").rglob("*.py"))
    assert modules, "no plugin modules found"
    found = {str(path): hits for path in modules if (hits := airflow_2_imports(path, policy))}
    assert not found, found


def test_a_file_that_cannot_be_read_has_none_instead_of_stopping_the_gate(tmp_path, policy):
    # A DAG file removed while the gate runs, or a folder named like a module: no finding, no traceback.
    assert airflow_2_imports(tmp_path / "removed_meanwhile.py", policy) == []
    assert airflow_2_imports(tmp_path, policy) == []


@pytest.mark.parametrize("reverse", [False, True], ids=["general-first", "specific-first"])
def test_an_import_two_policy_entries_name_is_listed_once_with_the_most_specific_hint(
    tmp_path, policy, reverse
):
    entries = (("airflow.operators", "the general hint"), ("airflow.operators.bash", "the specific hint"))
    overlapping = dataclasses.replace(policy, airflow_2_imports=entries[::-1] if reverse else entries)
    path = tmp_path / "dag.py"
    path.write_text("from airflow.operators.bash import BashOperator\n")

    assert airflow_2_imports(path, overlapping) == ["line 1: airflow.operators.bash (use the specific hint)"]
