"""One test per DAG x policy rule, and one per DAG file for its parse time."""

from __future__ import annotations

import pytest

from gate import inventory
from gate.environment import prepare
from gate.loader import dag_files, load_once
from gate.rules import RULES, RULES_BY_NAME, check, parse_budget_message

DAGS_FOLDER = prepare()


def pytest_generate_tests(metafunc):
    if "dag_id" in metafunc.fixturenames:
        dag_ids = sorted(set(load_once(DAGS_FOLDER).dags) | set(inventory.read()))
        metafunc.parametrize(
            "dag_id,rule_name", [(d, r.name) for d in dag_ids for r in RULES], ids=lambda v: str(v)
        )
    if "dag_file" in metafunc.fixturenames:
        metafunc.parametrize("dag_file", [str(p.relative_to(DAGS_FOLDER)) for p in dag_files(DAGS_FOLDER)])


def test_dag_follows_rule(loaded, policy, dag_id, rule_name):
    dag = loaded.dags.get(dag_id)
    if dag is None:
        pytest.fail(f"DAG '{dag_id}' did not load, so rule {rule_name} cannot be checked", pytrace=False)
    message = check(dag, RULES_BY_NAME[rule_name], loaded, policy)
    if message:
        pytest.fail(message, pytrace=False)


def test_dag_file_parses_within_budget(loaded, policy, dag_file):
    path = DAGS_FOLDER / dag_file
    assert path in loaded.parse_seconds, f"{dag_file}: no parse time recorded in DagBag.dagbag_stats"
    message = parse_budget_message(path, loaded.parse_seconds[path], policy)
    if message:
        pytest.fail(message, pytrace=False)
