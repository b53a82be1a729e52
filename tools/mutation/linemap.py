"""pytest plugin of a mutation run (`-p mutation.linemap`).

Mapping pass (LAKEHOUSE_MUTATION_LINES set, mutation/site on PYTHONPATH): tells the line recorder
(mutation/site/sitecustomize.py) which test runs, so each line of a mutated module is filed under the tests
that execute it. Lines run by a fixture shared between tests (scope wider than a function), at import or
collection, or in a teardown go to the bucket "*": any test may depend on them.

The mapping pass also writes each test's duration (setup, call and teardown) to `durations.json` there.

Mutant runs (`--mutation-select FILE`): only the tests whose node ids FILE lists run, in the order listed (the
run lists the quickest first, so `-x` stops a killed mutant early); an id that is no longer collected is a
usage error (exit 4), never a silently smaller run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ANY_TEST = "*"
DURATIONS = "durations.json"
_seconds: dict[str, float] = {}  # the mapping pass's test durations


def _recorder():
    site = sys.modules.get("sitecustomize")
    return getattr(site, "RECORDER", None)


def _enter(bucket: str) -> str:
    """Files the lines run from now on under `bucket` (here and in the processes started from now on)."""
    recorder = _recorder()
    if recorder is None:
        return bucket
    previous, recorder.bucket = recorder.bucket, bucket
    Path(recorder.folder, "current").write_text(bucket)
    return previous


def pytest_addoption(parser):
    parser.addoption("--mutation-select", help="file of test node ids to run, one a line (mutation runs)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _enter(item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _enter(item.nodeid)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    _enter(ANY_TEST)
    yield


def pytest_runtest_logreport(report):
    _seconds[report.nodeid] = _seconds.get(report.nodeid, 0.0) + report.duration


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope == "function":
        yield
        return
    previous = _enter(ANY_TEST)
    try:
        yield
    finally:
        _enter(previous)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    chosen_file = config.getoption("mutation_select")
    if not chosen_file:
        return
    chosen = [line for line in Path(chosen_file).read_text().splitlines() if line]
    collected = {item.nodeid for item in items}
    missing = [nodeid for nodeid in chosen if nodeid not in collected]
    if missing or not chosen:
        raise pytest.UsageError(f"--mutation-select {chosen_file}: not collected: {missing[:5] or 'no ids'}")
    position = {nodeid: index for index, nodeid in enumerate(chosen)}
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in position])
    items[:] = sorted((item for item in items if item.nodeid in position), key=lambda i: position[i.nodeid])


def pytest_sessionfinish(session):
    folder = os.environ.get("LAKEHOUSE_MUTATION_LINES")
    if folder:
        _enter(ANY_TEST)
        Path(folder, DURATIONS).write_text(json.dumps(_seconds))
