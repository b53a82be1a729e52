"""The policy: a failing test per DAG x broken rule (id `<dag_id>-<rule>`), and per rule one test that every
other DAG follows it (id `every-dag-<rule>`), checked again when it runs. Parse budget: a failing test per
slow file, or one for all.

Collapsing the passing pairs keeps the gate instant on large DAG folders (pytest costs ~0.4 ms per test item
here: 800 DAGs x 13 rules would be 10,400 items, see benchmarks/gate.py) while every failure still names its
DAG and rule in its own test id; the failure messages name the DAG, its file, the rule and the fix.
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
EVERY_DAG = "every-dag"
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
        dag_ids = sorted(set(load_once(DAGS_FOLDER).dags) | set(inventory.read()))
        broken = [
            (dag_id, rule.name) for dag_id in dag_ids for rule in RULES if messages.get((dag_id, rule.name))
        ]
        every = [(EVERY_DAG, rule.name) for rule in RULES]
        missing = [(dag_id, "loads") for dag_id in dag_ids if dag_id not in load_once(DAGS_FOLDER).dags]
        metafunc.parametrize(
            "dag_id,rule_name",
            broken + missing + every,
            ids=[f"{d}-{r}" for d, r in broken + missing + every],
        )
    if "dag_file" in metafunc.fixturenames:
        slow = _over_budget()
        metafunc.parametrize(
            "dag_file", slow or [EVERY_FILE], ids=[f"{name}-parse-budget" for name in slow] or None
        )


def test_dag_follows_rule(dag_id, rule_name):
    loaded, policy = load_once(DAGS_FOLDER), load_policy()
    if dag_id == EVERY_DAG:
        # Checked again here, for every DAG without a failing test of its own for this rule.
        (rule,) = [rule for rule in RULES if rule.name == rule_name]
        others = [dag for dag_id, dag in loaded.dags.items() if not _policy_messages()[dag_id, rule_name]]
        assert others or not loaded.dags, f"no DAG to check {rule_name} on"
        broken = [message for dag in others if (message := check(dag, rule, loaded, policy))]
        assert not broken, "\n".join(broken)
        return
    if dag_id not in loaded.dags:
        pytest.fail(f"DAG '{dag_id}' did not load, so the policy cannot be checked", pytrace=False)
    pytest.fail(_policy_messages()[dag_id, rule_name], pytrace=False)


def test_dag_file_parses_within_budget(loaded, policy, dag_file):
    if dag_file != EVERY_FILE:
        path = DAGS_FOLDER / dag_file
        pytest.fail(parse_budget_message(path, loaded.parse_seconds[path], policy), pytrace=False)
    unrecorded = [str(path) for path in loaded.files if path not in loaded.parse_seconds]
    assert not unrecorded, f"no parse time in DagBag.dagbag_stats for {unrecorded}"
    assert not [path for path, s in loaded.parse_seconds.items() if parse_budget_message(path, s, policy)]
