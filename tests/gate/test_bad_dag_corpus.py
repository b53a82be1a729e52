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


# The call each parse-purity corpus DAG makes at import time, by file: the message must point at its line.
PARSE_TIME_CALLS = {
    "redshift__boto3_at_parse.py": "boto3.client(",
    "redshift__connection_at_parse.py": "get_connection(",
    "redshift__socket_at_parse.py": "urlopen(",
    "redshift__variable_at_parse.py": "Variable.get(",
}


def test_a_parse_time_lookup_is_named_by_the_dag_file_s_own_line(policy):
    """Not a line of Airflow, boto3 or the gate the call went through: the line to edit."""
    named = {
        path.name: message
        for rule, path, message in violations(load_once(CORPUS), policy)
        if rule == "parse-purity"
    }
    assert sorted(named) == sorted(PARSE_TIME_CALLS)
    for name, call in PARSE_TIME_CALLS.items():
        path = (CORPUS / name).resolve()
        (line,) = [n for n, text in enumerate(path.read_text().splitlines(), 1) if call in text]
        assert f" at {path}:{line} while the DAG file was being parsed" in named[name], named[name]
