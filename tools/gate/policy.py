"""The policy settings, read from policy.toml (the one place they live)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

POLICY_FILE = Path(__file__).with_name("policy.toml")


@dataclass(frozen=True)
class Policy:
    approved_domains: tuple[str, ...]
    approved_tags: frozenset[str]
    forbidden_owners: frozenset[str]
    min_description_chars: int
    min_retries: int
    max_retries: int
    parse_budget_seconds: float
    clock_start_date_window_hours: float
    one_test_per_dag_and_rule_up_to: int
    schedule_max_runs_at_unpause: int
    schedule_max_runs_per_day: float
    airflow_2_imports: tuple[tuple[str, str], ...]  # (Airflow 2 module, where Airflow 3 has it)


def load_policy(path: Path = POLICY_FILE) -> Policy:
    raw = tomllib.loads(path.read_text())
    budget = os.environ.get("DAG_PARSE_BUDGET_SECONDS")
    per_pair = os.environ.get("DAG_POLICY_ONE_TEST_PER_DAG_AND_RULE_UP_TO")
    return Policy(
        approved_domains=tuple(raw["approved_domains"]),
        approved_tags=frozenset(raw["approved_tags"]),
        forbidden_owners=frozenset(raw["forbidden_owners"]),
        min_description_chars=int(raw["min_description_chars"]),
        min_retries=int(raw["min_retries"]),
        max_retries=int(raw["max_retries"]),
        parse_budget_seconds=float(budget) if budget else float(raw["parse_budget_seconds"]),
        clock_start_date_window_hours=float(raw["clock_start_date_window_hours"]),
        one_test_per_dag_and_rule_up_to=int(per_pair or raw["one_test_per_dag_and_rule_up_to"]),
        schedule_max_runs_at_unpause=int(raw["schedule_max_runs_at_unpause"]),
        schedule_max_runs_per_day=float(raw["schedule_max_runs_per_day"]),
        airflow_2_imports=tuple(raw["airflow_2_imports"].items()),
    )
