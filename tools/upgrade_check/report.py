"""build/upgrade-check/VERSION/report.md: what changes, fails and is deprecated on the next version."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import constraints
import repository

# Where a warning was raised, as the report names it: our own files by their path in the repository.
OWN_FOLDERS = ("dags/", "plugins/", "tools/", "tests/")
# The code MWAA runs: what must change at the upgrade. The harness follows through tools/compat/, and the
# bad-DAG corpus of the tests uses retired APIs on purpose.
SHIPPED_FOLDERS = ("dags/", "plugins/")
_DUMP_INSTALLED = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


@dataclass
class Step:
    name: str
    returncode: int
    output: str


@dataclass
class Failure:
    test: str
    kind: str  # failed | error
    first_line: str


@dataclass
class WarningGroup:
    category: str
    message: str
    where: dict[str, int]  # "file:line" -> count

    @property
    def own(self) -> bool:
        return any(place.startswith(OWN_FOLDERS) for place in self.where)

    @property
    def shipped(self) -> bool:
        return any(place.startswith(SHIPPED_FOLDERS) for place in self.where)


def package_changes(python: Path) -> list[tuple[str, str | None, str]]:
    """(name, today's version or None, the next version's) of each installed package whose version differs
    from today's pin (requirements/constraints.txt and MWAA's essential constraints), sorted by name."""
    dump = subprocess.run([str(python), "-c", _DUMP_INSTALLED], capture_output=True, text=True, check=True)
    installed = {constraints.canonical(name): version for name, version in json.loads(dump.stdout).items()}
    today = {
        **constraints.pins(constraints.current().airflow),
        **constraints.pins(constraints.current().essential),
    }
    return [
        (name, today.get(name), version)
        for name, version in sorted(installed.items())
        if today.get(name) != version and name not in constraints.pins(constraints.LINT)
    ]


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no message)"


def failures(junit: Path) -> list[Failure]:
    """The failed and erroring tests of a JUnit XML report, with the first line of their error, in order."""
    if not junit.is_file():
        return [Failure("(pytest wrote no report)", "error", f"{junit} is missing: did pytest start?")]
    found = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for kind in ("failure", "error"):
            for problem in case.findall(kind):
                module = case.get("classname", "").replace(".", "/")
                test = f"{module}::{case.get('name')}" if case.get("name") else module
                found.append(
                    Failure(
                        test,
                        "failed" if kind == "failure" else "error",
                        _first_line(problem.get("message") or problem.text),
                    )
                )
    return found


def _place(filename: str, lineno: int) -> str:
    path = Path(filename)
    try:
        return f"{path.resolve().relative_to(repository.ROOT).as_posix()}:{lineno}"
    except ValueError:
        parts = path.parts
        if "site-packages" in parts:
            return f"{'/'.join(parts[parts.index('site-packages') + 1:])}:{lineno}"
        return f"{filename}:{lineno}"


def warnings(folder: Path) -> list[WarningGroup]:
    """The deprecation warnings recorded in `folder` (upgrade_check.plugin), grouped by category and message;
    our own code's first, then by how often they were raised."""
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(Path(folder).glob("warnings-*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["deprecation"]:
                key = (record["category"], record["message"].strip())
                groups[key][_place(record["filename"], record["lineno"])] += 1
    found = [WarningGroup(category, message, dict(where)) for (category, message), where in groups.items()]
    return sorted(found, key=lambda group: (not group.own, -sum(group.where.values()), group.message))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(
    *,
    version: str,
    steps: list[Step],
    packages: list[tuple[str, str | None, str]],
    failures: list[Failure],
    warnings: list[WarningGroup],
    venv_rebuilt: bool,
    venv_seconds: float,
    total_seconds: float,
) -> str:
    today = constraints.current().version
    green = all(step.returncode == 0 for step in steps)
    lines = [
        f"# Upgrade check: MWAA {today} -> {version}",
        "",
        f"Verdict: **{'green' if green else 'red'}** ({total_seconds:.0f} s; venv "
        f"{'built' if venv_rebuilt else 'reused'} in {venv_seconds:.0f} s). Constraints: "
        f"`requirements/next/{version}/` (see its SOURCE); test tools it stops pinning are held at today's "
        "versions.",
        "",
        "## Steps",
        "",
        "| step | result |",
        "|---|---|",
        *(
            f"| {step.name} | {'ok' if step.returncode == 0 else f'FAILED (exit {step.returncode})'} |"
            for step in steps
        ),
    ]
    for step in steps:
        if step.returncode != 0 and step.output.strip():
            lines += ["", f"### {step.name}", "", "```", *step.output.strip().splitlines()[:40], "```"]
    shipped = [group for group in warnings if group.shipped]
    lines += ["", "## What must change at the upgrade", ""]
    if shipped:
        lines += [
            "Deprecations raised in the DAGs and plugins (they must keep APIs both versions have "
            "until the upgrade; then switch):",
            "",
        ]
        lines += [f"- {_where(group)}: {group.message.splitlines()[0]}" for group in shipped]
    else:
        lines.append("Nothing in dags/ or plugins/ raises a deprecation warning on this version.")
    lines += ["", f"## Failing tests ({len(failures)})", ""]
    if failures:
        lines += ["| test | | first error line |", "|---|---|---|"]
        lines += [f"| `{_cell(f.test)}` | {f.kind} | {_cell(f.first_line)} |" for f in failures]
    else:
        lines.append("None.")
    lines += ["", f"## Deprecation warnings ({len(warnings)} messages)", ""]
    for group in warnings:
        lines += [
            f"- **{group.category}**: {_cell(group.message.splitlines()[0] if group.message else '')}",
            f"  raised at {_where(group)}",
        ]
    if not warnings:
        lines.append("None.")
    lines += [
        "",
        f"## Packages that change version ({len(packages)})",
        "",
        f"| package | {today} | {version} |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {old or '(not pinned)'} | {new} |" for name, old, new in packages]
    return "\n".join(lines) + "\n"


def _where(group: WarningGroup) -> str:
    places = sorted(group.where.items(), key=lambda item: (not item[0].startswith(OWN_FOLDERS), item[0]))
    shown = ", ".join(f"`{place}`" + (f" ({count}x)" if count > 1 else "") for place, count in places[:5])
    return shown + (f" and {len(places) - 5} more places" if len(places) > 5 else "")
