"""The gate tests itself: each corpus DAG is flagged with exactly its rule, the shipped DAGs with none."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict
from pathlib import Path

import pytest

import lakehouse

from gate.loader import load_once
from gate.rules import IMPORT_ERROR_RULES, PARSE_BUDGET, RULES, violations

CORPUS = Path(__file__).with_name("bad_dags")


def declared_rules() -> set[str]:
    """The gate rules the plugins' exception classes declare for themselves (`gate_rule`)."""
    modules = [
        importlib.import_module(m.name) for m in pkgutil.iter_modules(lakehouse.__path__, "lakehouse.")
    ]
    return {
        value.gate_rule
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseException) and hasattr(value, "gate_rule")
    }


EVERY_RULE = {rule.name for rule in RULES} | set(IMPORT_ERROR_RULES) | declared_rules() | {PARSE_BUDGET}


def expected_rule(path: Path) -> str:
    match = re.match(r"# gate-expects: ([\w-]+)", path.read_text())
    assert match, f"{path}: corpus files start with '# gate-expects: <rule>'"
    return match.group(1)


CORPUS_FILES = sorted(CORPUS.rglob("*.py"))


@pytest.fixture(scope="session")
def corpus_violations(policy):
    found = defaultdict(set)
    for rule, path, message in violations(load_once(CORPUS), policy):
        found[path.resolve()].add(rule)
        assert path.name in message or str(path) in message, f"message does not name the file: {message}"
    return found


def test_corpus_covers_every_rule():
    covered = {expected_rule(path) for path in CORPUS_FILES}
    assert EVERY_RULE <= covered, f"rules with no bad DAG in {CORPUS}: {sorted(EVERY_RULE - covered)}"


@pytest.mark.parametrize(
    "path", [p for p in CORPUS_FILES if "duplicate" not in p.parent.name], ids=lambda p: p.stem
)
def test_bad_dag_is_flagged_with_its_rule_only(corpus_violations, path):
    assert corpus_violations[path.resolve()] == {expected_rule(path)}


def test_duplicate_dag_id_is_flagged_once_for_the_pair(corpus_violations):
    pair = sorted(CORPUS.glob("duplicate_*/*.py"))
    assert len(pair) == 2
    flagged = [corpus_violations[p.resolve()] for p in pair]
    assert sorted(flagged, key=len) == [set(), {"duplicate-dag-id"}]


def test_shipped_dags_break_no_rule(loaded, policy):
    assert loaded.dags, "no shipped DAG loaded"
    problems = [message.splitlines()[0] for _, _, message in violations(loaded, policy)]
    assert not problems, "\n".join(problems)
