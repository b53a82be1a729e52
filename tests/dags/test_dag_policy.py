"""The policy, per DAG: a failing test per DAG x broken rule (id `<dag_id>-<rule>`), and one passing
test per DAG that breaks none (id `<dag_id>-all-rules`). Parse budget: a failing test per slow file, or one
for all.

Collapsing the passing pairs keeps the gate instant on large DAG folders (pytest costs ~0.3-0.8 ms per test
item: 800 DAGs x 13 rules would be 10,400 items, see benchmarks/gate.py) while every failure still names
its DAG and rule in its own test id.
"""

from __future__ import annotations

import pytest

from gate import inventory
from gate.environment import prepare
from gate.loader import load_once
from gate.policy import load_policy
from gate.rules import RULES, check, parse_budget_message

DAGS_FOLDER = prepare()
EVERY_FILE = "every-dag-file"
ALL_RULES = "all-rules"
_messages: dict[tuple[str, str], str | None] = {}


def _policy_messages() -> dict[tuple[str, str], str | None]:
    """Every (dag_id, rule) -> message or None, computed once for the session."""
    if not _messages:
        loaded, policy = load_once(DAGS_FOLDER), load_policy()
        for dag_id, dag in loaded.dags.items():
            for rule in RULES:
                _messages[dag_id, rule.name] = check(dag, rule, loaded, policy)
    return _messages


def _over_budget() -> list[str]:
    loaded, policy = load_once(DAGS_FOLDER), load_policy()
    return sorted(
        str(path.relative_to(DAGS_FOLDER))
        for path, seconds in loaded.parse_seconds.items()
        if parse_budget_message(path, seconds, policy)
    )


def pytest_generate_tests(metafunc):
    if "rule_name" in metafunc.fixturenames:
        messages = _policy_messages()
        pairs = []
        for dag_id in sorted(set(load_once(DAGS_FOLDER).dags) | set(inventory.read())):
            broken = [rule.name for rule in RULES if messages.get((dag_id, rule.name))]
            pairs += [(dag_id, name) for name in broken or [ALL_RULES]]
        metafunc.parametrize("dag_id,rule_name", pairs)
    if "dag_file" in metafunc.fixturenames:
        slow = _over_budget()
        metafunc.parametrize(
            "dag_file", slow or [EVERY_FILE], ids=[f"{name}-parse-budget" for name in slow] or None
        )


def test_dag_follows_rule(dag_id, rule_name):
    messages = _policy_messages()
    if dag_id not in load_once(DAGS_FOLDER).dags:
        pytest.fail(f"DAG '{dag_id}' did not load, so the policy cannot be checked", pytrace=False)
    names = [rule.name for rule in RULES] if rule_name == ALL_RULES else [rule_name]
    broken = [messages[dag_id, name] for name in names if messages[dag_id, name]]
    if broken:
        pytest.fail("\n".join(broken), pytrace=False)


def test_dag_file_parses_within_budget(loaded, policy, dag_file):
    if dag_file != EVERY_FILE:
        path = DAGS_FOLDER / dag_file
        pytest.fail(parse_budget_message(path, loaded.parse_seconds[path], policy), pytrace=False)
    unrecorded = [str(path) for path in loaded.files if path not in loaded.parse_seconds]
    assert not unrecorded, f"no parse time in DagBag.dagbag_stats for {unrecorded}"
    assert not [path for path, s in loaded.parse_seconds.items() if parse_budget_message(path, s, policy)]
