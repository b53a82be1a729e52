"""Shared test setup: a throwaway Airflow home, and the DAG folder parsed once per session."""

from __future__ import annotations

import functools
import gc
import os
from pathlib import Path, PurePosixPath

import pytest

import repository
from airflow_home import prepare, private
from deploy import REPORT_DEPRECATIONS_ENV

# Each test process (each pytest-xdist worker too) gets its own throwaway Airflow home and metadata DB, never
# one from the shell or from the process that started it.
private()
DAGS_FOLDER = prepare()  # must run before anything imports airflow
# The gates these tests run (./run_tests.sh in a copy, through the pre-push hook) start one pytest-xdist
# worker unless the shell says otherwise: the same controller-and-worker code paths as a whole run, without a
# second worker importing Airflow and parsing the DAGs while this suite keeps every core busy. The tests of
# several workers ask for them (-n 2). Measured on six modules of such gates: 180 s -> 146 s on 2 cores.
os.environ.setdefault("LAKEHOUSE_TEST_WORKERS", "1")
# Suites about the tooling rather than the DAGs, their tests building git repositories, a local S3 server or
# nested pytest runs: the full run and CI take them, the pre-push path (./run_tests.sh --fast) goes without.
TOOLING_SUITES = {"hooks", "deploy", "upgrade_check", "mutation"}
# The longest-running modules start first, so pytest-xdist's workers finish together (the full run uses
# --dist loadgroup --no-loadscope-reorder: tests are handed out in this order as workers free up). Measured
# in a full run: the lake (one group, 73 s of one worker), the pushes through the hook (60 s and 18 s), the
# recipes (43 s, one test), then modules of many tests of 1-27 s each.
SLOWEST_FIRST = (
    "e2e/test_dag_runs.py",
    "hooks/test_pre_push.py",
    "docs/test_recipes.py",
    "deploy/test_sync_s3.py",
    "gate/test_dag_selection.py",
    "e2e/test_run_local.py",
    "gate/test_summary.py",
    "deploy/test_gate.py",
    "gate/test_gate_run.py",
    "hooks/test_pre_commit.py",
    "deploy/test_mwaa_update.py",
    "e2e/test_local_aws.py",
)


def pytest_configure(config):
    # ./run_tests.sh --upgrade-check, and every gate it starts: on the next version a provider's new
    # deprecation is what the report lists, not the DAG import error pyproject.toml's filters would make it.
    # Appended, so it wins over those filters; deploy.selection never stamps such a run.
    if os.environ.get(REPORT_DEPRECATIONS_ENV):
        config.addinivalue_line("filterwarnings", "default::DeprecationWarning")


# Set by ./run_tests.sh --fast: when a DAG file does not import, only the DAG gate runs (the summary says so).
STOP_ON_BROKEN_DAGS = "LAKEHOUSE_STOP_ON_BROKEN_DAGS"


@functools.cache
def _under_tests(path: Path) -> PurePosixPath:
    """A test file's path relative to tests/ (once per file: resolving it costs system calls)."""
    return PurePosixPath(Path(path).resolve().relative_to(repository.TESTS).as_posix())


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _under_tests(item.path).parts[0] in TOOLING_SUITES:
            item.add_marker(pytest.mark.slow)
    rank = {name: position for position, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(str(_under_tests(item.path)), len(rank)))
    _only_the_selected_dags(config, items)
    if os.environ.get(STOP_ON_BROKEN_DAGS) == "1":
        _only_the_dag_gate_if_dags_are_broken(config, items)


def _only_the_selected_dags(config, items) -> None:
    """./run_tests.sh --dag ID: the tests of those DAGs (a DAG id or DAG file among their parameters), and
    the DAG gate's checks of the parsed files; not the tests of other DAGs, nor those that need every DAG
    (the whole lake run, hand-written tests of named DAGs)."""
    from gate import inventory

    chosen = set(inventory.selected() or ())
    if not chosen:
        return
    names = set(inventory.read_all()) | {path.stem for path in DAGS_FOLDER.glob("*.py")} | chosen

    def dags_of(item) -> set[str]:
        params = getattr(getattr(item, "callspec", None), "params", {}).values()
        return {Path(v).stem for v in params if isinstance(v, str) and Path(v).stem in names}

    def wanted(item) -> bool:
        named = dags_of(item)
        if "lake" in getattr(item, "fixturenames", ()):
            return False
        return bool(named & chosen) if named else _dag_gate_rank(item) is not None

    dropped = [item for item in items if not wanted(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if wanted(item)]


def _dag_gate_rank(item) -> int | None:
    marker = item.get_closest_marker("dag_gate")
    return None if marker is None else marker.kwargs["rank"]


def _only_the_dag_gate_if_dags_are_broken(config, items) -> None:
    from gate.loader import load_once

    broken = load_once(DAGS_FOLDER).import_errors()
    if not broken:
        return
    rest = [item for item in items if _dag_gate_rank(item) is None]
    if rest:
        config.hook.pytest_deselected(items=rest)
        items[:] = [item for item in items if _dag_gate_rank(item) is not None]
        config.stash[_NOT_RUN] = (len(rest), sorted(path.name for path in broken))


_NOT_RUN = pytest.StashKey[tuple]()
_NOT_RUN_OUTPUT = "lakehouse_not_run"  # the same, sent by a pytest-xdist worker to the controller


def pytest_sessionfinish(session):
    config = session.config
    if hasattr(config, "workerinput") and _NOT_RUN in config.stash:
        config.workeroutput[_NOT_RUN_OUTPUT] = list(config.stash[_NOT_RUN])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # The process ends next: the garbage collector need not walk what the session built (Airflow, moto's
    # backends, the parsed DAGs) once more on the way out. Measured, one process: tests/e2e/test_local_aws.py
    # 21.9 s -> 18.2 s (medians of 3). A run that parsed one DAG and ran no AWS gains nothing measurable.
    gc.freeze()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: every worker collects and deselects alike; the controller prints what they left out."""
    output = getattr(node, "workeroutput", {})
    if _NOT_RUN_OUTPUT in output:
        count, files = output[_NOT_RUN_OUTPUT]
        node.config.stash[_NOT_RUN] = (count, list(files))


def pytest_terminal_summary(terminalreporter, config):
    if _NOT_RUN in config.stash:
        count, files = config.stash[_NOT_RUN]
        terminalreporter.write_line(
            f"{count} other tests not run: {', '.join(files)} does not import. Fix that first; "
            "./run_tests.sh without --fast runs everything regardless.",
            yellow=True,
        )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return repository.ROOT


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
