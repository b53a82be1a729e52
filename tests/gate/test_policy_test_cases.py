"""Which policy tests a DAG folder gets (gate.rules.policy_test_cases), on the corpus of bad DAGs."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from gate.loader import load, load_once
from gate.rules import EVERY_DAG, RULES, RULES_BY_NAME, policy_test_cases
from tests.gate.test_bad_dag_corpus import CORPUS, expected_rule

NOT_LOADED = "redshift__listed_but_not_loaded"


def test_up_to_the_limit_every_dag_and_rule_is_a_test(policy):
    corpus_bag = load_once(CORPUS)
    assert len(corpus_bag.dags) <= policy.one_test_per_dag_and_rule_up_to

    cases = policy_test_cases([*corpus_bag.dags, NOT_LOADED], corpus_bag, policy)

    expected = [(dag_id, rule.name) for dag_id in sorted(corpus_bag.dags) for rule in RULES]
    assert cases == expected + [(NOT_LOADED, "loads")]


def test_past_the_limit_only_broken_pairs_keep_a_test_of_their_own(policy):
    corpus_bag = load_once(CORPUS)
    collapsed = replace(policy, one_test_per_dag_and_rule_up_to=0)

    cases = policy_test_cases([*corpus_bag.dags, NOT_LOADED], corpus_bag, collapsed)

    own = sorted(pair for pair in cases if pair[0] != EVERY_DAG)
    # Each corpus DAG that loads and breaks a policy rule: exactly that pair (the DAG of
    # redshift__dag_id_not_file_name.py has another id, hence the lookup by file).
    expected = [
        (dag.dag_id, expected_rule(Path(dag.fileloc)))
        for dag in corpus_bag.dags.values()
        if expected_rule(Path(dag.fileloc)) in RULES_BY_NAME
    ]
    assert len(expected) >= 10
    assert own == sorted(expected + [(NOT_LOADED, "loads")])
    assert [rule for dag_id, rule in cases if dag_id == EVERY_DAG] == [rule.name for rule in RULES]


def test_a_rule_no_dag_follows_gets_no_shared_test(tmp_path, policy):
    shutil.copy(CORPUS / "redshift__no_doc_md.py", tmp_path)
    bag = load(tmp_path)

    cases = policy_test_cases(bag.dags, bag, replace(policy, one_test_per_dag_and_rule_up_to=0))

    assert ("redshift__no_doc_md", "doc-md") in cases
    assert (EVERY_DAG, "doc-md") not in cases
    assert (EVERY_DAG, "owner") in cases


def test_exactly_at_the_limit_every_pair_is_a_test_and_one_dag_more_collapses(policy):
    corpus_bag = load_once(CORPUS)
    dag_ids = [*corpus_bag.dags, NOT_LOADED]
    at_limit = replace(policy, one_test_per_dag_and_rule_up_to=len(dag_ids))
    one_below = replace(policy, one_test_per_dag_and_rule_up_to=len(dag_ids) - 1)

    every_pair = policy_test_cases(dag_ids, corpus_bag, at_limit)
    collapsed = policy_test_cases(dag_ids, corpus_bag, one_below)

    assert len(every_pair) == len(corpus_bag.dags) * len(RULES) + 1
    assert all(dag_id != EVERY_DAG for dag_id, _ in every_pair)
    assert [rule for dag_id, rule in collapsed if dag_id == EVERY_DAG] == [rule.name for rule in RULES]
