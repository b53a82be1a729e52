"""Mutating a shipped DAG in place fails the gate with that rule, and no unrelated one."""

from __future__ import annotations

import pytest

from gate.loader import load
from gate.rules import violations

SHIPPED = "redshift__01_create_tables.py"
ANCHOR = 'task_id="create_schema_and_tables",'
MUTATIONS = {
    "retries": (ANCHOR, ANCHOR + " retries=5,"),
    "owner": (ANCHOR, ANCHOR + ' owner="airflow",'),
    "no-email-alerts": (ANCHOR, ANCHOR + " email_on_retry=True,"),
    "parse-purity": (
        "from airflow.sdk import DAG\n",
        'from airflow.sdk import DAG, Variable\n\nBUCKET = Variable.get("lakehouse_bucket")\n',
    ),
    "explicit-schedule": ("    schedule=None,\n", ""),
    "airflow-3-imports": ("from airflow.sdk import DAG\n", "from airflow import DAG\n"),
    "tags": ('tags=["tickit", "redshift", "setup"]', 'tags=["tickit", "adhoc"]'),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_mutation_fails_with_its_rule(tmp_path, repo_root, policy, rule):
    original = (repo_root / "dags" / SHIPPED).read_text()
    old, new = MUTATIONS[rule]
    assert old in original, f"{SHIPPED} no longer contains {old!r}: update MUTATIONS to the new text"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / SHIPPED).write_text(original.replace(old, new, 1))
    (tmp_path / "sql").symlink_to(repo_root / "sql")
    (tmp_path / "dags" / "redshift").symlink_to(repo_root / "dags" / "redshift")  # the table spec it reads
    found = {name for name, _, _ in violations(load(tmp_path / "dags"), policy)}
    assert found == {rule}
