"""./run_tests.sh's closing diagnosis: one line per root cause, from pytest's own reports.

As a pytest plugin (`-p gate.summary`, with LAKEHOUSE_GATE_OUTCOMES naming a file) it records every real
outcome: each test's verdict and each test module that did not import (never lines of captured output). A
failure carries its rank and its subjects: the DAG ids and DAG file names of its parameters and of its
message. As a command (`python -m gate.summary LOGS [FAILED STEP...]`) it prints the causes:

1. DAG files that do not import (marker dag_gate, rank 0);
2. DAG rules (rank 1);
3. the rest: the gate's follow-up checks (rank 2 and up), test modules that do not import, other failures.

A failure is folded when its first line repeats one already shown, or when it has subjects and every one of
them is a subject of a failure shown above (a DAG that does not load fails each test that names it; every
rule a DAG breaks fails again in the test of the whole bag). The footer names a fix for each failed step.
Standard library only: a copy of the repository with just run_tests.sh and this module must run it.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

OUTCOMES = "LAKEHOUSE_GATE_OUTCOMES"
SHOWN_LOG = "LAKEHOUSE_GATE_SHOWN_LOG"  # where the user finds the whole log (the pre-push hook copies it)
SUBJECTS = "gate_subjects"
RANK = "gate_rank"
IMPORT_RANK, RULE_RANK = 0, 1
COLLECTION_RANK, OTHER_RANK = 100, 101
SHOWN_CAUSES = 25


@dataclass
class Failure:
    nodeid: str
    kind: str  # "failed" (a test's verdict), "error" (its setup or teardown), "collection" (a module)
    message: str
    rank: int
    subjects: list[str] = field(default_factory=list)

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.message.splitlines() if line.strip()), "")


# -- the plugin -----------------------------------------------------------------------------------------


def _known_names() -> set[str]:
    """DAG ids and DAG file names of the folders this process parsed (gate.loader's), and the inventory's."""
    names: set[str] = set()
    loader = sys.modules.get("gate.loader")
    for loaded in getattr(loader, "_LOADED", {}).values():
        names.update(loaded.dags)
        names.update(path.stem for path in loaded.files)
        names.update(Path(path).stem for path in loaded.bag.import_errors)
    inventory = sys.modules.get("gate.inventory")
    if inventory is not None:
        names.update(inventory.read())
    return {name for name in names if name}


def _crash_message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return re.sub(r"^(?:AssertionError|Failed): ", "", crash.message)
    return str(report.longrepr or "")


def subjects_of(params: dict, message: str, known: set[str]) -> list[str]:
    """The known DAG names among a test's parameters (a DAG id, or a file `<name>.py`) and in its message's
    own text, before pytest's rendering of the compared values (`assert ...`, which may list every DAG)."""
    own = []
    for line in message.splitlines():
        if line.startswith("assert "):
            break
        own.append(line)
    message = "\n".join(own)
    found = set()
    for value in params.values():
        if isinstance(value, str) and (value in known or Path(value).stem in known):
            found.add(value if value in known else Path(value).stem)
    if known and message:
        pattern = (
            r"(?<![\w])(" + "|".join(map(re.escape, sorted(known, key=len, reverse=True))) + r")(?![\w])"
        )
        found.update(re.findall(pattern, message))
    return sorted(found)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach rank and subjects to a failing report where the item is at hand (a pytest-xdist worker)."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    marker = item.get_closest_marker("dag_gate")
    rank = marker.kwargs.get("rank", RULE_RANK) if marker is not None else OTHER_RANK
    params = getattr(getattr(item, "callspec", None), "params", {})
    report.user_properties.append((RANK, rank))
    report.user_properties.append((SUBJECTS, subjects_of(params, _crash_message(report), _known_names())))


class _Recorder:
    def __init__(self, target: Path) -> None:
        self.target = target
        self.counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.failures: list[Failure] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call":
            key = {"passed": "passed", "failed": "failed", "skipped": "skipped"}[report.outcome]
            self.counts[key] += 1
        elif report.skipped and report.when == "setup":
            self.counts["skipped"] += 1
        elif report.failed:
            self.counts["errors"] += 1
        if report.failed:
            properties = dict(report.user_properties)
            self.failures.append(
                Failure(
                    report.nodeid,
                    "failed" if report.when == "call" else "error",
                    _crash_message(report),
                    properties.get(RANK, OTHER_RANK),
                    list(properties.get(SUBJECTS, [])),
                )
            )

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.counts["errors"] += 1
            text = str(report.longrepr)
            raised = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
            self.failures.append(
                Failure(report.nodeid, "collection", raised[-1] if raised else text, COLLECTION_RANK)
            )

    def pytest_sessionfinish(self) -> None:
        record = {"counts": self.counts, "failures": [asdict(failure) for failure in self.failures]}
        partial = self.target.with_name(f"{self.target.name}.{os.getpid()}")
        partial.write_text(json.dumps(record, indent=1))
        os.replace(partial, self.target)


def pytest_configure(config) -> None:
    target = os.environ.get(OUTCOMES)
    if target and not hasattr(config, "workerinput"):  # pytest-xdist's controller sees every worker's reports
        config.pluginmanager.register(_Recorder(Path(target)), "gate-summary-recorder")


# -- the diagnosis --------------------------------------------------------------------------------------


def root_causes(failures: list[Failure]) -> tuple[list[Failure], int]:
    """The failures to show, in order, and how many were folded into them."""
    ordered = sorted(failures, key=lambda f: (f.rank, f.nodeid))
    shown: list[Failure] = []
    covered: set[str] = set()
    lines: set[str] = set()
    folded = 0
    for failure in ordered:
        repeat = failure.first_line in lines
        follows = failure.rank > RULE_RANK and failure.subjects and set(failure.subjects) <= covered
        if repeat or follows:
            folded += 1
            continue
        shown.append(failure)
        lines.add(failure.first_line)
        covered.update(failure.subjects)
    return shown, folded


def cause_line(failure: Failure) -> str:
    """The gate's own messages name rule, DAG, file and fix; another failure is introduced by its test."""
    if failure.rank <= RULE_RANK:
        return failure.first_line
    label = {"failed": "FAILED", "error": "ERROR", "collection": "ERROR"}[failure.kind]
    return f"{label} {failure.nodeid} - {failure.first_line}".rstrip(" -")


SECTIONS = (
    (IMPORT_RANK, "DAG files that do not import:"),
    (RULE_RANK, "DAG rules:"),
    (None, "Other failures:"),
)


def diagnosis(record: dict) -> list[str]:
    failures = [Failure(**entry) for entry in record.get("failures", [])]
    shown, folded = root_causes(failures)
    out: list[str] = []
    for rank, title in SECTIONS:
        mine = [f for f in shown if (f.rank == rank if rank is not None else f.rank > RULE_RANK)]
        if not mine:
            continue
        out.append(title)
        out.extend(f"  {cause_line(f)}" for f in mine[:SHOWN_CAUSES])
        if len(mine) > SHOWN_CAUSES:
            out.append(f"  ... and {len(mine) - SHOWN_CAUSES} more")
    if folded:
        out.append(f"({folded} more failing tests follow from the causes above)")
    return out


def outcome_counts(record: dict) -> str:
    counts = record.get("counts", {})
    parts = [f"{counts.get(k, 0)} {k}" for k in ("failed", "errors", "passed", "skipped") if counts.get(k)]
    return ", ".join(parts) or "no tests ran"


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def black_files(log: Path, root: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.is_file() else ""
    return [_relative(m, root) for m in re.findall(r"^would reformat (.+)$", text, re.MULTILINE)]


def flake8_findings(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.is_file() else ""
    return [
        line.removeprefix("./") for line in text.splitlines() if re.match(r"^\S+:\d+:\d+: [A-Z]\d+ ", line)
    ]


def step_problems(logs: Path, failed_steps: list[str], root: Path) -> tuple[list[str], list[str]]:
    """(problem lines, fix lines) of the failed steps other than pytest."""
    problems, fixes = [], []
    if "flake8" in failed_steps:
        findings = flake8_findings(logs / "flake8.log")
        files = sorted({line.split(":", 1)[0] for line in findings})
        problems.extend(f"flake8: {line}" for line in findings[:10])
        if len(findings) > 10:
            problems.append(f"flake8: ... and {len(findings) - 10} more")
        fixes.append(f"edit the lines flake8 lists, then: tools/venv.sh flake8 {' '.join(files) or '.'}")
    if "black --check" in failed_steps:
        files = black_files(logs / "black.log", root)
        problems.extend(f"black: would reformat {name}" for name in files)
        fixes.append(f"tools/venv.sh black {' '.join(files) or '.'}")
    if "secret scan" in failed_steps:
        found, fix = secret_scan_result(logs / "secret-scan.log")
        problems.extend(found)
        fixes.append(fix)
    return problems, fixes


def secret_scan_result(log: Path) -> tuple[list[str], str]:
    """(problem lines, fix) of a failed secret scan, as its log says: the files and lines it names, or why
    it could not scan (e.g. not a git checkout), and its own fix for that cause."""
    from gate.secret_scan import FIX

    text = log.read_text(errors="replace") if log.is_file() else ""
    cause, _, fix = text.partition("Fix: ")
    lines = [line.strip() for line in cause.splitlines() if line.strip()]
    findings = [line for line in lines[1:] if not line.startswith("secret scan:")]
    if findings:  # "secret scan: possible credentials in tree ...:" then one line per finding
        problems = [f"secret scan: {line}" for line in findings]
    else:
        problems = lines[:1]
    return problems, (fix.strip().splitlines() or [FIX])[0]


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m gate.summary LOGS_DIR [FAILED_STEP...]", file=sys.stderr)
        return 2
    logs, failed_steps = Path(argv[0]), argv[1:]
    root = Path.cwd().resolve()
    problems, fixes = step_problems(logs, failed_steps, root)
    for line in problems:
        print(f"  {line}")
    if any(step.startswith("pytest") for step in failed_steps):
        outcomes = logs / "outcomes.json"
        record = json.loads(outcomes.read_text()) if outcomes.is_file() else {}
        if not record:
            print("  pytest did not report any outcome (it stopped before running tests): see the log")
        else:
            print(f"pytest: {outcome_counts(record)}")
            for line in diagnosis(record):
                print(f"  {line}")
        log = os.environ.get(SHOWN_LOG) or f"{_relative(str(logs), root)}/pytest.log"
        fixes.append(f"the causes above, in order; the whole log: {log}")
    if fixes:
        print("Fix: " + "\n     ".join(fixes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
