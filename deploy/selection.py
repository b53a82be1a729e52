"""A pytest plugin that tells the gate stamp whether a run tested the whole selection.

./run_tests.sh loads it (`-p deploy.selection`) and names a report file in LAKEHOUSE_GATE_SELECTION; at the
end of the session the plugin writes `whole <mode>` there, or `narrowed <mode>: <reasons>`. deploy.stamp
records a green run only on `whole`. The reasons are read from pytest's final configuration, whatever set
it (command line, PYTEST_ADDOPTS, the ini file's addopts): -k, a marker expression other than the mode's,
test paths, --deselect, --ignore, --last-failed, --stepwise, --collect-only, --setup-only/-plan; plus any
test deselected by something else, and fewer tests run than collected. A run without the plugin (e.g.
`-p no:deploy.selection`) writes no report, so it never stamps either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MODE_ENV = "LAKEHOUSE_GATE_MODE"  # fast | full, set by ./run_tests.sh
REPORT_ENV = "LAKEHOUSE_GATE_SELECTION"
# The marker expression each mode runs with (./run_tests.sh --fast: -m "not slow"); anything else narrows.
MODE_MARKEXPR = {"fast": "not slow", "full": ""}
NARROWING_OPTIONS = {
    "deselect": "--deselect",
    "ignore": "--ignore",
    "ignore_glob": "--ignore-glob",
    "lf": "--last-failed",
    "stepwise": "--stepwise",
    "stepwise_skip": "--stepwise-skip",
    "collectonly": "--collect-only",
    "setuponly": "--setup-only",
    "setupplan": "--setup-plan",
}
WORKER_KEY = "gate_unexpected_deselected"


@dataclass
class _Session:
    ran: set[str] = field(default_factory=set)
    unexpected_deselected: int = 0


_session = _Session()


def narrowing(config: pytest.Config, mode: str) -> list[str]:
    """The options that narrow this session below the whole selection of `mode` (empty: none)."""
    option = config.option
    reasons = []
    if mode not in MODE_MARKEXPR:
        reasons.append(f"{MODE_ENV}={mode!r} is neither fast nor full")
    if option.keyword:
        reasons.append(f"-k {option.keyword!r}")
    if option.markexpr != MODE_MARKEXPR.get(mode, ""):
        reasons.append(f"-m {option.markexpr!r}")
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        reasons.append(f"test paths {' '.join(config.args)}")
    for name, flag in NARROWING_OPTIONS.items():
        value = getattr(option, name, None)
        if value:
            reasons.append(flag if value is True else f"{flag} {' '.join(map(str, value))}")
    return reasons


def pytest_configure(config: pytest.Config) -> None:
    global _session
    _session = _Session()


def pytest_deselected(items) -> None:
    """Only the mode's marker expression may deselect, and only tests marked slow."""
    expected = MODE_MARKEXPR.get(os.environ.get(MODE_ENV, "")) == "not slow"
    _session.unexpected_deselected += sum(
        1 for item in items if not (expected and item.get_closest_marker("slow"))
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _session.ran.add(report.nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: the workers collect (and deselect); each reports its count when it finishes."""
    _session.unexpected_deselected += getattr(node, "workeroutput", {}).get(WORKER_KEY, 0)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        config.workeroutput[WORKER_KEY] = _session.unexpected_deselected
        return
    report = os.environ.get(REPORT_ENV)
    if not report:
        return
    mode = os.environ.get(MODE_ENV, "")
    reasons = narrowing(config, mode)
    if _session.unexpected_deselected:
        reasons.append(f"deselected by other than the mode's -m: {_session.unexpected_deselected}")
    if len(_session.ran) != session.testscollected or not session.testscollected:
        reasons.append(f"tests run: {len(_session.ran)} of {session.testscollected} collected")
    verdict = f"narrowed {mode}: {'; '.join(reasons)}" if reasons else f"whole {mode}"
    Path(report).write_text(verdict + "\n")
