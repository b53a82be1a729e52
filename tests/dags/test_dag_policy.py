"""The policy: one test per DAG x rule (id `<dag_id>-<rule>`); past `one_test_per_dag_and_rule_up_to` DAGs
(tools/gate/policy.toml), a failing test per DAG x broken rule and one test per rule for the other DAGs (id
`every-dag-<rule>`, checked again when it runs). Parse budget (CPU seconds per file): one test per file up
to the same limit, past it one for all.

The messages name the DAG, its file, the rule and the fix.
"""

from __future__ import annotations

import pytest

from gate import inventory
from airflow_home import prepare
from gate.loader import load_once
from gate.policy import load_policy
from gate.rules import EVERY_DAG, LOADS, RULES_BY_NAME, check, parse_budget_message, policy_test_cases

pytestmark = pytest.mark.dag_gate(rank=1)  # the gate proper, after the load verdicts in the summary
DAGS_FOLDER = prepare()
EVERY_FILE = "every-dag-file"
_cases: list[tuple[str, str]] = []


def _policy_cases() -> list[tuple[str, str]]:
    """The (dag_id, rule) pairs of this session's policy tests, chosen once."""
    if not _cases:
        loaded = load_once(DAGS_FOLDER)
        _cases.extend(policy_test_cases(set(loaded.dags) | set(inventory.read()), loaded, load_policy()))
    return _cases


def _budget_cases() -> list[str]:
    """One parse-budget test per DAG file up to the policy's per-pair limit, else one for all files.

    The ids never depend on the measured times: pytest-xdist workers each parse the folder and must collect
    the same tests, also when a file sits at its budget.
    """
    loaded, policy = load_once(DAGS_FOLDER), load_policy()
    if len(loaded.files) > policy.one_test_per_dag_and_rule_up_to:
        return [EVERY_FILE]
    return sorted(str(path.relative_to(DAGS_FOLDER)) for path in loaded.files) or [EVERY_FILE]


def pytest_generate_tests(metafunc):
    if "rule_name" in metafunc.fixturenames:
        # A listed DAG that did not load: its cause (an import error, a renamed dag_id) is ranked before it.
        consequence = pytest.mark.dag_gate(rank=2)
        cases = [
            pytest.param(d, r, id=f"{d}-{r}", marks=consequence if r == LOADS else ())
            for d, r in _policy_cases()
        ]
        metafunc.parametrize("dag_id,rule_name", cases)
    if "dag_file" in metafunc.fixturenames:
        files = _budget_cases()
        metafunc.parametrize("dag_file", files, ids=[f"{name}-parse-budget" for name in files])


def test_dag_follows_rule(dag_id, rule_name):
    loaded, policy = load_once(DAGS_FOLDER), load_policy()
    if dag_id == EVERY_DAG:
        rule = RULES_BY_NAME[rule_name]
        own_tests = {d for d, r in _policy_cases() if r == rule_name}
        others = [dag for d, dag in loaded.dags.items() if d not in own_tests]
        assert others, f"no DAG to check {rule_name} on"
        broken = [message for dag in others if (message := check(dag, rule, loaded, policy))]
        assert not broken, "\n".join(broken)
        return
    if dag_id not in loaded.dags:
        pytest.fail(f"DAG '{dag_id}' did not load, so the policy cannot be checked", pytrace=False)
    message = check(loaded.dags[dag_id], RULES_BY_NAME[rule_name], loaded, policy)
    if message:
        pytest.fail(message, pytrace=False)


def test_dag_file_parses_within_budget(loaded, policy, dag_file):
    if dag_file != EVERY_FILE:
        path = DAGS_FOLDER / dag_file
        assert path in loaded.parse_seconds, f"no parse time recorded for {path}"
        message = parse_budget_message(path, loaded.parse_seconds[path], policy)
        if message:
            pytest.fail(message, pytrace=False)
        return
    unrecorded = [str(path) for path in loaded.files if path not in loaded.parse_seconds]
    assert not unrecorded, f"no parse time recorded for {unrecorded}"
    slow = [
        message
        for path, s in sorted(loaded.parse_seconds.items())
        if (message := parse_budget_message(path, s, policy))
    ]
    assert not slow, "\n".join(slow)
