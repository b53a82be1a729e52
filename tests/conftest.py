"""Shared test setup: a throwaway Airflow home, and the DAG folder parsed once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.environment import REPO_ROOT, prepare

DAGS_FOLDER = prepare()  # must run before anything imports airflow


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    return DAGS_FOLDER


@pytest.fixture(scope="session")
def loaded():
    """The DAG folder parsed once per session, under the parse guards (gate.loader.load_once)."""
    from gate.loader import load_once

    return load_once(DAGS_FOLDER)


@pytest.fixture(scope="session")
def dag_bag(loaded):
    return loaded.bag


@pytest.fixture(scope="session")
def policy():
    from gate.policy import load_policy

    return load_policy()
