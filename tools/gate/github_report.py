"""The pull-request view in GitHub Actions: the job summary ($GITHUB_STEP_SUMMARY) and error annotations.

    tools/venv.sh python -m gate.github_report [--base REF]

Reads what ./run_tests.sh left in build/test-logs/ (`gate-steps`: the result per step; `pytest.log`), and
compares the tree with the base commit REF without parsing the base's DAGs: the base's structure snapshot
(`git show REF:tools/gate/inventory.json`) against this tree's, and the base's bundle against this tree's
(deploy.bundle: plugins.zip, requirements.txt or startup.sh changing means an MWAA environment update).
Each failing test becomes an `::error file=...,line=...::` line on stdout, which GitHub shows on the pull
request's diff. Without GITHUB_STEP_SUMMARY the summary goes to stdout. Needs no secret (forks too).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import repository
from gate import inventory

# Relative to the repository root.
STEPS_FILE = Path("build/test-logs/gate-steps")
PYTEST_LOG = Path("build/test-logs/pytest.log")
INVENTORY_PATH = inventory.RECORDED_PATH
ENVIRONMENT_UPDATE = "MWAA environment update on deploy, 20-30 min"
SHORT_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+?)(?: - (.*))?$")
SECTION_HEADER = re.compile(r"^_{3,} (?:ERROR (?:at \w+ of|collecting) )?(.+?) _{3,}$")
TRACEBACK_LINE = re.compile(r"^(\S+\.py):(\d+): ")
LINE_IN_MESSAGE = re.compile(r"(?:\.py:|\bline )(\d+)")


@dataclass(frozen=True)
class Failure:
    outcome: str  # FAILED or ERROR
    nodeid: str
    message: str


def step_results(path: Path) -> list[tuple[str, str]]:
    """[(ok | FAILED, step)] as ./run_tests.sh's summary lists them."""
    if not path.exists():
        return []
    results = []
    for line in path.read_text().splitlines():
        verdict, _, name = line.strip().partition(" ")
        if verdict:
            results.append((verdict, name.strip()))
    return results


def failures(log: str) -> list[Failure]:
    """The failing tests of pytest's short summary (-rfE), in its order, each with its whole message from its
    section of the log (the short summary cuts a long message to the terminal's width, or drops it)."""
    sections = _sections(log)
    found = []
    for line in log.splitlines():
        match = SHORT_SUMMARY.match(line)
        if match:
            name = match[2].split("::")[-1]
            message = sections.get(name, ("", None))[0] or (match[3] or "").strip()
            found.append(Failure(match[1], match[2], message))
    return found


MAX_MESSAGE_LINES = 20
MAX_LISTED_FAILURES = 25  # in the job summary; the annotations and the job log have them all


def _in_repository(path: str) -> bool:
    """Whether a traceback's file is the repository's: pytest names those relative to the root; the venv's
    packages (.venv/, or an absolute path) and Python's own library are not where a fix goes."""
    return not path.startswith(("/", "../", ".venv/"))


def _sections(log: str) -> dict[str, tuple[str, tuple[str, int] | None]]:
    """{test name with parameters: (message, (file, line) of its last frame in the repository)} per failure
    section of the log: the message is the exception's `E` lines, or the text of a failure without a
    traceback."""
    parsed: dict[str, tuple[str, tuple[str, int] | None]] = {}
    name, body = None, []

    def close():
        if name is None:
            return
        errors = [line[1:].strip() for line in body if line.startswith("E ")]
        frames = [TRACEBACK_LINE.match(line) for line in body]
        frames = [(frame[1], int(frame[2])) for frame in frames if frame]
        # A traceback has `E` lines or a `>` source line; a message without one may itself begin "x.py:12: "
        traced = errors or any(line.startswith(">") for line in body)
        text = errors if traced else [line for line in body if line.strip() and not line.startswith("[gw")]
        ours = [frame for frame in frames if _in_repository(frame[0])]
        parsed[name] = ("\n".join(text[:MAX_MESSAGE_LINES]).strip(), ours[-1] if ours else None)

    for line in log.splitlines():
        header = SECTION_HEADER.match(line)
        if header or line.startswith("====="):
            close()
            name, body = (header[1], []) if header else (None, [])
        elif name is not None:
            body.append(line)
    close()
    return parsed


def _line_of(path: Path, text: str) -> int:
    """The first line of `path` holding `text` (1 when none does)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 1
    return next((number for number, line in enumerate(lines, 1) if text in line), 1)


def locate(
    failure: Failure, snapshot: dict[str, dict], frames: dict[str, tuple[str, int]], root: Path
) -> tuple[str, int]:
    """The file (repository-relative) and line a failure belongs on: the DAG file it names (at its dag_id,
    or the line its message gives), the inventory or catalogue it is about, else the failing test's line."""
    name = failure.nodeid.split("::")[-1]
    parameter = name[name.index("[") + 1 : -1] if name.endswith("]") else ""
    dag_ids = sorted((d for d in snapshot if parameter == d or parameter.startswith(d + "-")), key=len)
    if dag_ids:
        path = Path("dags") / snapshot[dag_ids[-1]]["file"]
        return str(path), _line_of(root / path, f'"{dag_ids[-1]}"')
    dag_file = re.match(r"(.+?\.py)(?:-|$)", parameter)
    if dag_file:
        line = LINE_IN_MESSAGE.search(failure.message)
        return f"dags/{dag_file[1]}", int(line[1]) if line else 1
    if "recorded_structure" in name or "inventor" in name:
        return INVENTORY_PATH, 1
    if "catalogue" in name:
        return "docs/dags.md", 1
    return frames.get(name, (failure.nodeid.split("::")[0], 1))


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def annotations(found: list[Failure], snapshot: dict[str, dict], log: str, root: Path) -> list[str]:
    """One `::error file=...,line=...,title=...::message` workflow command per failure."""
    frames = {name: frame for name, (_, frame) in _sections(log).items() if frame}
    lines = []
    for failure in found:
        path, line = locate(failure, snapshot, frames, root)
        title = f"{failure.outcome} {failure.nodeid.split('::')[-1]}"
        message = failure.message or f"{failure.nodeid} {failure.outcome.lower()}"
        lines.append(
            f"::error file={_escape(path, True)},line={line},title={_escape(title, True)}::{_escape(message)}"
        )
    return lines


def bundle_changes(root: Path, commit: str) -> tuple[dict[str, list[str]], str]:
    """({'added'|'changed'|'removed': [bucket key]}, problem): this tree's bundle against the base's."""
    from deploy import bundle

    try:
        base = bundle.build(root, tree=f"{commit}^{{tree}}")
        head = bundle.build(root)
    except bundle.BundleError as error:
        return {}, str(error).strip()
    return {
        "added": sorted(head.keys() - base.keys()),
        "changed": sorted(k for k in head.keys() & base.keys() if head[k].sha256 != base[k].sha256),
        "removed": sorted(base.keys() - head.keys()),
    }, ""


def _names(items) -> str:
    return ", ".join(f"`{item}`" for item in items)


def dag_changes(base: dict[str, dict], head: dict[str, dict]) -> list[str]:
    """Markdown lines: DAGs added (schedule, tasks, Variables), removed, and changed (what was added and
    removed: tasks, edges, assets, schedule)."""
    lines = []
    for dag_id in sorted(head.keys() - base.keys()):
        entry = head[dag_id]
        needs = (
            f"; needs the Variables {_names(entry.get('variables', []))}" if entry.get("variables") else ""
        )
        lines.append(
            f"- added: `{dag_id}` ({entry.get('schedule')}; {len(entry.get('tasks', []))} tasks{needs})"
        )
    lines += [f"- removed: `{dag_id}`" for dag_id in sorted(base.keys() - head.keys())]
    recorded = {dag_id: entry for dag_id, entry in base.items() if set(entry) != {"file"}}
    lines += [f"- changed: `{line.replace(':', '`:', 1)}" for line in inventory.drift(recorded, head)]
    if len(recorded) < len(base):
        lines.append(
            f"- the base records no structure for {len(base) - len(recorded)} DAGs (an older inventory)"
        )
    return lines


def schedule_section(base: dict[str, dict], head: dict[str, dict], root: Path) -> str:
    """The schedule-change review (gate.schedule_changes) of this tree's snapshot against the base's, with
    this tree's acknowledgements."""
    from gate import schedule_changes

    acknowledged_file = root / schedule_changes.ACKNOWLEDGED_FILE.resolve().relative_to(repository.ROOT)
    try:
        return schedule_changes.review(
            base, head, acknowledged=schedule_changes.acknowledgements(acknowledged_file)
        ).markdown()
    except schedule_changes.AcknowledgementError as error:
        return f"**Schedule changes not reviewed**: {error}"


def summary(
    steps: list[tuple[str, str]],
    found: list[Failure],
    base_ref: str | None,
    commit: str | None,
    base: dict[str, dict],
    head: dict[str, dict],
    bundle: tuple[dict[str, list[str]], str],
    root: Path = repository.ROOT,
) -> str:
    out = ["## DAG gate", ""]
    if steps:
        out += ["| step | result |", "|---|---|"]
        out += [f"| {name} | {'ok' if verdict == 'ok' else '**FAILED**'} |" for verdict, name in steps]
    else:
        out.append("**The gate did not finish**: no step results in `build/test-logs/gate-steps`.")
    if found:
        out += ["", f"### Failures ({len(found)})", ""]
        out += [f"- `{f.nodeid}`: {f.message}" for f in found[:MAX_LISTED_FAILURES]]
        unlisted = len(found) - MAX_LISTED_FAILURES
        out += [f"- ... and {unlisted} more (the job log has them all)"] if unlisted > 0 else []
    out += [""]
    if commit is None:
        out.append(f"No base commit to compare with (`{base_ref or 'none given'}`): nothing to compare.")
        return "\n".join(out) + "\n"
    out += [f"## What this changes in production (against `{base_ref}`, {commit[:12]})", ""]
    changes, problem = bundle
    environment = [
        key for key in ("plugins.zip", "requirements.txt", "startup.sh") if key in sum(changes.values(), [])
    ]
    if environment:
        out += [f"> [!WARNING]\n> **{ENVIRONMENT_UPDATE}**: {_names(environment)} change.", ""]
    out += ["### DAGs", ""]
    out += dag_changes(base, head) or ["No DAG added, removed or changed."]
    out += ["", "### Schedule changes", "", schedule_section(base, head, root)]
    out += ["", "### Bundle files", ""]
    if problem:
        # The first line of a refusal can be its heading ("... cannot ship as it is:"): the details follow.
        first, _, details = problem.partition("\n")
        out.append(f"The bundles could not be compared: {first}")
        out += ["", "```text", details, "```"] if details else []
    else:
        listed = [f"- {kind}: {_names(keys)}" for kind, keys in changes.items() if keys]
        out += listed or ["No bundle file changes."]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None, root: Path = repository.ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="", help="the base commit or ref (none: no comparison)")
    args = parser.parse_args(argv)
    log_file = root / PYTEST_LOG
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    found = failures(log)
    head = inventory.read_snapshot(root / INVENTORY_PATH)
    commit = inventory.commit_of(args.base, root)
    base = inventory.recorded_at(commit, root) if commit else {}
    bundle = bundle_changes(root, commit) if commit else ({}, "")
    text = summary(step_results(root / STEPS_FILE), found, args.base, commit, base, head, bundle, root)
    for line in annotations(found, head, log, root):
        print(line)
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a") as out:
            out.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
