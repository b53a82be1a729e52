"""A pytest plugin that tells the gate stamp whether a run tested the whole selection.

./run_tests.sh loads it (`-p deploy.selection`) and names a report file in LAKEHOUSE_GATE_SELECTION; at the
end of the session the plugin writes `whole <mode>` there, or `narrowed <mode>: <reasons>`. deploy.stamp
records a green run only on `whole`. The reasons are read from pytest's final configuration, whatever set
it (command line, PYTEST_ADDOPTS, the ini file's addopts): -k, a marker expression other than the mode's,
test paths, --deselect, --ignore, --last-failed, --stepwise, --collect-only, --setup-only/-plan, -W (a
warning filter of the command line), REPORT_DEPRECATIONS_ENV (the upgrade check's demotion); plus any
test deselected by something else, a test module under testpaths that was not collected (a conftest's
collect_ignore, norecursedirs), and fewer tests run than collected. A run without the plugin (e.g.
`-p no:deploy.selection`) writes no report, so it never stamps either.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy import REPORT_DEPRECATIONS_ENV

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
    "pythonwarnings": "-W",
}
WORKER_KEY = "gate_unexpected_deselected"
WORKER_MODULES = "gate_collected_modules"


@dataclass
class _Session:
    ran: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)  # test files collected (with or without an error)
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
    if os.environ.get(REPORT_DEPRECATIONS_ENV):
        reasons.append(f"deprecations reported, not errors ({REPORT_DEPRECATIONS_ENV} is set)")
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        reasons.append(f"test paths {' '.join(config.args)}")
    for name, flag in NARROWING_OPTIONS.items():
        value = getattr(option, name, None)
        if value:
            reasons.append(flag if value is True else f"{flag} {' '.join(map(str, value))}")
    return reasons


def test_modules(config: pytest.Config) -> set[str]:
    """The test files pytest's own rules find under testpaths (rootdir-relative): a whole run collects all."""
    roots = [config.rootpath / path for path in config.getini("testpaths")] or [config.rootpath]
    patterns, skipped = config.getini("python_files"), config.getini("norecursedirs")
    found = set()
    for root in roots:
        for path in root.rglob("*.py"):
            folders = path.relative_to(root).parts[:-1]
            if any(fnmatch.fnmatch(part, pattern) for part in folders for pattern in skipped):
                continue
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns):
                found.add(path.relative_to(config.rootpath).as_posix())
    return found


def pytest_configure(config: pytest.Config) -> None:
    global _session
    _session = _Session()


def pytest_deselected(items) -> None:
    """Only the mode's marker expression may deselect, and only tests marked slow."""
    expected = MODE_MARKEXPR.get(os.environ.get(MODE_ENV, "")) == "not slow"
    _session.unexpected_deselected += sum(
        1 for item in items if not (expected and item.get_closest_marker("slow"))
    )


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.nodeid.endswith(".py"):
        _session.modules.add(report.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _session.ran.add(report.nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: the workers collect (and deselect); each reports its count when it finishes."""
    output = getattr(node, "workeroutput", {})
    _session.unexpected_deselected += output.get(WORKER_KEY, 0)
    _session.modules.update(output.get(WORKER_MODULES, ()))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        config.workeroutput[WORKER_KEY] = _session.unexpected_deselected
        config.workeroutput[WORKER_MODULES] = sorted(_session.modules)
        return
    report = os.environ.get(REPORT_ENV)
    if not report:
        return
    mode = os.environ.get(MODE_ENV, "")
    reasons = narrowing(config, mode)
    if _session.unexpected_deselected:
        reasons.append(f"deselected by other than the mode's -m: {_session.unexpected_deselected}")
    left_out = sorted(test_modules(config) - _session.modules)
    if left_out:
        reasons.append(f"test modules not collected: {', '.join(left_out)}")
    if len(_session.ran) != session.testscollected or not session.testscollected:
        reasons.append(f"tests run: {len(_session.ran)} of {session.testscollected} collected")
    verdict = f"narrowed {mode}: {'; '.join(reasons)}" if reasons else f"whole {mode}"
    Path(report).write_text(verdict + "\n")
