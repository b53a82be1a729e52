"""The mutation run: Python mutants (cosmic-ray) of tools/deploy, tools/gate, hooks and plugins/lakehouse, and
SQL mutants (mutation.sql_mutants) of sql/redshift and sql/athena, each run against the tests that cover it.

Everything happens in a copy of the checkout (build/mutation/tree/), never in the checkout itself: cosmic-ray
writes each mutant into the file on disk, so the tests that run our code in a subprocess (the git hooks, the
deploy CLI) see the mutant too. Per module: one run of its tests on the unmutated copy (it must pass, and
sets the timeout), then one `pytest -x` of those tests per mutant. Results per module in
build/mutation/results/ (a later run of other modules keeps them); the report (report.md, report.json) is
written from all of them.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

import repository

HERE = Path(__file__).resolve().parent
TARGETS = HERE / "targets.toml"
EQUIVALENT = HERE / "equivalent.toml"
OUT = repository.ROOT / "build" / "mutation"
TIMEOUT_FACTOR, TIMEOUT_MARGIN = 3, 30  # a mutant's tests may take 3x the unmutated run, plus 30 s


# Where each package's modules live: every module there needs its tests in targets.toml.
PACKAGE_FOLDERS = {
    "deploy": "tools/deploy",
    "gate": "tools/gate",
    "hooks": "hooks",
    "lakehouse": "plugins/lakehouse",
}


def load_targets() -> dict:
    targets = tomllib.loads(TARGETS.read_text())
    for package, folder in PACKAGE_FOLDERS.items():
        listed = set(targets["python"]["packages"].get(package, {}))
        modules = {
            p.relative_to(repository.ROOT).as_posix()
            for p in (repository.ROOT / folder).glob("*.py")
            if p.name != "__init__.py"
        }
        if modules - listed:
            raise SystemExit(
                f"{TARGETS}: no tests listed for {sorted(modules - listed)}. Fix: add each module under "
                f"[python.packages.{package}] with the test files that cover it."
            )
    return targets


def load_equivalents(root: Path | None = None) -> list[dict]:
    """The reviewed equivalent mutants: {module, line, mutant, reason} (lines without indentation), and
    `lineno` where the module has that line more than once (a review holds for the line it looked at)."""
    root = root or repository.ROOT
    entries = tomllib.loads(EQUIVALENT.read_text()).get("equivalent", [])
    lines_of: dict[str, list[str]] = {}  # each module read once
    for entry in entries:
        missing = {"module", "line", "mutant", "reason"} - set(entry)
        if missing or not entry["reason"].strip():
            raise SystemExit(
                f"{EQUIVALENT}: entry {entry} lacks {sorted(missing) or ['a reason']}. "
                "Fix: give module, line, mutant and a one-line reason why no test can tell them apart."
            )
        source = root / entry["module"]
        if "lineno" in entry or not entry["module"].endswith(".py") or not source.is_file():
            continue
        if entry["module"] not in lines_of:
            lines_of[entry["module"]] = [text.strip() for text in source.read_text().splitlines()]
        numbers = [n for n, text in enumerate(lines_of[entry["module"]], 1) if text == entry["line"]]
        if len(numbers) > 1:
            raise SystemExit(
                f"{EQUIVALENT}: {entry['module']} has `{entry['line']}` on lines {numbers}: the entry for "
                f"`{entry['mutant']}` would cover them all. Fix: add `lineno = N` for the line reviewed."
            )
    return entries


def equivalent_reason(equivalents: list[dict], module: str, line: int, old: str, new: str) -> str | None:
    """The reason a reviewed entry gives for this mutant, or None."""
    return next(
        (
            e["reason"]
            for e in equivalents
            if (e["module"], e["line"], e["mutant"]) == (module, old.strip(), new.strip())
            and e.get("lineno", line) == line
        ),
        None,
    )


def prepare_tree(source: Path, tree: Path, rev: str | None, venv: Path) -> None:
    """The copy the mutants are written into, as a checkout: `.venv` pointing at `venv` (ignored files are not
    copied, and every test that starts tools/venv.sh would build one), and a git repository of one commit
    (tests clone the repository they run in, or ask git which tree they test)."""
    copy_tree(source, tree, rev)
    (tree / ".venv").symlink_to(venv, target_is_directory=True)
    identity = ["-c", "user.name=mutation", "-c", "user.email=mutation@localhost"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "the tree mutated"]):
        subprocess.run(["git", *identity, *command], cwd=tree, check=True, capture_output=True)


def copy_tree(source: Path, tree: Path, rev: str | None) -> None:
    """The files of the checkout (tracked and new, not ignored) or of commit `rev`, at `tree`."""
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    if rev:
        archive = subprocess.run(["git", "archive", rev], cwd=source, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        return
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        check=True,
        capture_output=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        origin = source / name
        if origin.is_file() or origin.is_symlink():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, tree / name, follow_symlinks=False)


def test_command(venv: Path, tests: list[str]) -> list[str]:
    return [
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        "-x",
        "-q",
        "--no-header",
        "-p",
        "no:warnings",
        "-p",
        "deploy.selection",
        "-p",
        "mutation.linemap",
        *tests,
    ]


def run_tests(
    tree: Path, command: list[str], timeout: float, env_extra: dict[str, str] | None = None
) -> tuple[str, float, str]:
    """('passed' | 'failed' | 'timeout' | 'error', seconds, the output's tail). 'error': pytest was used
    wrongly (exit 4: e.g. a selected test id not collected; 5: no test ran), which says nothing of a mutant.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "LAKEHOUSE_GATE"))}
    env.update(PYTHONPATH=f"{tree / 'tools'}:{tree / 'plugins'}", PYTHONDONTWRITEBYTECODE="1")
    env.update(env_extra or {})
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The whole session: the tests' servers (PostgreSQL, git) too, not only pytest
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return "timeout", time.monotonic() - started, ""
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    seconds = time.monotonic() - started
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
    status = {0: "passed", 4: "error", 5: "error"}.get(done.returncode, "failed")
    return status, seconds, tail


def unmutated_run(
    tree: Path, command: list[str], name: str, tests: list[str], log, mapped: list[str] | None = None
) -> tuple[dict, float | None, LineMap | None]:
    """The module's result so far, the timeout per mutant (its tests' time, scaled) and, for a Python module
    (`mapped`), which tests run each of its lines. The timeout is None when the tests fail without any
    mutant (the result then says so)."""
    env_extra, folder = None, None
    if mapped and sys.version_info >= (3, 12):
        folder = OUT / "linemap" / name.replace("/", "__")
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / "targets").write_text("".join(f"{path}\n" for path in mapped))
        env_extra = {
            "LAKEHOUSE_MUTATION_LINES": str(folder),
            "PYTHONPATH": f"{tree / 'tools' / 'mutation' / 'site'}:{tree / 'tools'}:{tree / 'plugins'}",
        }
    status, baseline, tail = run_tests(tree, command, timeout=1800, env_extra=env_extra)
    result = {"module": name, "tests": tests, "baseline_seconds": round(baseline, 1), "mutants": []}
    if status != "passed":
        result["error"] = f"the tests fail without any mutant:\n{tail}"
        log(f"  {name}: baseline {status}; skipped\n{tail}")
        return result, None, None
    line_map = LineMap.read(folder) if folder else None
    if line_map:
        result["mapped_tests"] = len(line_map.tests)
        result["blind_tests"] = sorted(line_map.blind)
    return result, baseline * TIMEOUT_FACTOR + TIMEOUT_MARGIN, line_map


class LineMap:
    """Which tests of the unmutated run executed each line of the mutated files (in the pytest process or in a
    process it started; line 0: opened the file); lines run outside one test (imports, shared fixtures) are
    run by `ANY`; `blind` tests started a process that may run our Python without the recorder."""

    ANY = "*"

    def __init__(
        self,
        by_line: dict[tuple[str, int], set[str]],
        blind: set[str],
        tests: set[str],
        seconds: dict[str, float] | None = None,
    ):
        self.by_line, self.blind, self.tests = by_line, blind, tests
        self.seconds = seconds or {}  # each test's duration in the unmutated run

    @classmethod
    def read(cls, folder: Path) -> LineMap | None:
        by_line: dict[tuple[str, int], set[str]] = {}
        blind: set[str] = set()
        dumps = sorted(folder.glob("lines-*.json"))
        if not dumps:
            return None
        for dump in dumps:
            data = json.loads(dump.read_text())
            for bucket, lines in data["lines"].items():
                for module, line in lines:
                    by_line.setdefault((module, line), set()).add(bucket)
            blind |= set(data["blind"])
        if cls.ANY in blind:  # a process shared by tests that may run our code unseen: no line is certain
            return None
        tests = {t for users in by_line.values() for t in users} | blind
        durations = folder / "durations.json"
        seconds = json.loads(durations.read_text()) if durations.exists() else {}
        return cls(by_line, blind, tests - {cls.ANY}, seconds)

    def tests_of(self, module: str, lines) -> set[str] | None:
        """The tests executing any of `lines` of `module` (plus the blind ones): the ones to run first. None:
        only code shared by all tests runs them (imports, shared fixtures), so any test may see the mutant.
        An empty set: no test runs them. (A mutant the chosen tests all pass still runs all of them.)"""
        users = set().union(*(self.by_line.get((module, line), set()) for line in lines))
        own = users - {self.ANY}
        if self.ANY in users and not own:
            return None
        return own | self.blind

    def shared(self, module: str, lines) -> bool:
        """Whether any of `lines` of `module` also runs outside one test (at import or collection, in a
        fixture shared between tests, in a teardown): then every test may see a mutant there."""
        return any(self.ANY in self.by_line.get((module, line), set()) for line in lines)

    def quickest_first(self, tests) -> list[str]:
        """`tests` in the order a mutant runs them under `pytest -x`: the files by the time their tests take,
        the quickest first, and in each file its quickest test first, so a killed mutant stops early. A file's
        tests stay together (its module-scoped fixtures start once); a test without a time goes last."""
        unknown = float("inf")
        files: dict[str, list[str]] = {}
        for test in tests:
            files.setdefault(test.split("::")[0], []).append(test)
        order = sorted(files.values(), key=lambda group: sum(self.seconds.get(t, unknown) for t in group))
        return [t for group in order for t in sorted(group, key=lambda t: (self.seconds.get(t, unknown), t))]


def statement_lines(source: str, line: int) -> range:
    """The lines of the statement part holding `line`: a simple statement whole, or the lines of a compound
    statement between its nested statements (an `if`'s condition, an `except` clause)."""
    import ast

    def children(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield child
            else:
                yield from children(child)

    node: ast.AST = ast.parse(source)
    low, high = 1, len(source.splitlines())
    while True:
        inner = [c for c in children(node) if c.lineno <= line <= c.end_lineno]
        if not inner:
            break
        node = inner[0]
        low, high = node.lineno, node.end_lineno
    nested = list(children(node))
    low = max([c.end_lineno + 1 for c in nested if c.end_lineno < line] + [low])
    high = min([c.lineno - 1 for c in nested if c.lineno > line] + [high])
    return range(low, high + 1)


def _changed_line(original: str, mutated: str) -> tuple[int, str, str]:
    """(line number, original line, mutated line) of the first line a mutation changed."""
    before, after = original.splitlines(), mutated.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag != "equal":
            old = before[i1] if i1 < i2 else ""
            new = after[j1] if j1 < j2 else ""
            return i1 + 1, old, new
    return 0, "", ""


def python_module(
    tree: Path,
    venv: Path,
    module: str,
    tests: list[str],
    operators: re.Pattern,
    equivalents: list[dict],
    limit: int | None,
    log,
    quick_survivors: bool = False,
) -> dict:
    """Mutate one module with cosmic-ray's operators (the realistic ones) and run its tests per mutant: first
    the tests that execute the mutated line (from the line map of the unmutated run); a mutant they all pass
    then runs every test of the module, so a survivor is one the module's whole test list lets through
    (`quick_survivors`: unless only those tests execute its line). A mutant on a line no test executes is a
    survivor without a run ("not covered")."""
    import cosmic_ray.plugins
    from cosmic_ray.commands import init
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    command = test_command(venv, tests)
    result, timeout, line_map = unmutated_run(tree, command, module, tests, log, mapped=[module])
    if timeout is None:
        return result
    session = OUT / "sessions" / (module.replace("/", "__") + ".sqlite")
    session.parent.mkdir(parents=True, exist_ok=True)
    session.unlink(missing_ok=True)
    selection = OUT / "linemap" / (module.replace("/", "__") + ".selected")
    original = (tree / module).read_text()
    cwd = os.getcwd()
    os.chdir(tree)  # cosmic-ray mutates the module at its path relative to the working directory
    try:
        with use_db(str(session), WorkDB.Mode.create) as work_db:
            init([Path(module)], work_db, {})
            items = list(work_db.pending_work_items)
            # In operator and occurrence order (the session returns them in any order): a sample is the same
            # mutants every run.
            kept = sorted(
                (item for item in items if operators.fullmatch(item.mutations[0].operator_name)),
                key=lambda item: (item.mutations[0].operator_name, item.mutations[0].occurrence),
            )
            result["generated"], result["kept"] = len(items), len(kept)
            chosen = sample(len(kept), limit, PART)
            started = time.monotonic()
            for index, item in enumerate(kept):
                mutation = item.mutations[0]
                operator = cosmic_ray.plugins.get_operator(mutation.operator_name)()
                try:
                    mutated = mutate_code(original, operator, mutation.occurrence)
                except (
                    Exception
                ) as error:  # an operator cosmic-ray cannot apply here (e.g. ExceptionReplacer)
                    result["mutants"].append(
                        {
                            "operator": mutation.operator_name,
                            "line": mutation.start_pos[0],
                            "original": "",
                            "mutant": "",
                            "outcome": "incompetent",
                            "error": repr(error),
                        }
                    )
                    continue
                if mutated is None:
                    continue
                line, old, new = _changed_line(original, mutated)
                entry = {
                    "operator": mutation.operator_name,
                    "line": line,
                    "original": old.strip(),
                    "mutant": new.strip(),
                }
                reason = equivalent_reason(equivalents, module, line, old, new)
                if reason is not None:
                    result["mutants"].append({**entry, "outcome": "equivalent", "reason": reason})
                    continue
                if index not in chosen:
                    result["mutants"].append({**entry, "outcome": "not run"})
                    continue
                earlier = _earlier_outcome(
                    module, (entry["operator"], line, entry["original"], entry["mutant"])
                )
                if earlier:
                    result["mutants"].append(earlier)
                    continue
                tick = time.monotonic()
                lines = statement_lines(original, line)
                chosen_tests = line_map.tests_of(module, lines) if line_map else None
                if chosen_tests is not None and not chosen_tests:
                    outcome, runs = "not covered", []
                else:
                    outcome, runs = _run_mutant(
                        tree,
                        command,
                        timeout,
                        tree / module,
                        mutated,
                        line_map.quickest_first(chosen_tests) if chosen_tests else None,
                        selection,
                        whole_list=not (quick_survivors and line_map and not line_map.shared(module, lines)),
                    )
                entry.update(outcome=outcome, seconds=round(time.monotonic() - tick, 1), runs=runs)
                result["mutants"].append(entry)
                test_outcome = {
                    "killed": TestOutcome.KILLED,
                    "timeout": TestOutcome.KILLED,
                    "survived": TestOutcome.SURVIVED,
                    "not covered": TestOutcome.SURVIVED,
                }.get(outcome, TestOutcome.INCOMPETENT)
                work_db.set_result(
                    item.job_id,
                    WorkResult(
                        worker_outcome=WorkerOutcome.NORMAL, output=outcome, test_outcome=test_outcome
                    ),
                )
                log(f"    {outcome:<11} {module}:{line}: {old.strip()}  ->  {new.strip()}  {runs}")
                PROGRESS(result)
            result["seconds"] = round(time.monotonic() - started, 1)
    finally:
        os.chdir(cwd)
        (tree / module).write_text(original)
    return result


def _run_mutant(
    tree: Path,
    command: list[str],
    timeout: float,
    path: Path,
    mutated: str,
    chosen_tests: list[str] | None,
    selection: Path,
    whole_list: bool = True,
) -> tuple[str, list[str]]:
    """The outcome of one mutant and its runs ('<n> tests: <status> <seconds>s' each): the chosen tests in
    their order, then, if they all pass (or none were chosen: all may), the module's whole test list (not
    with `whole_list` False: the chosen tests passing is then a survivor)."""
    original = path.read_text()
    runs = []
    try:
        path.write_text(mutated)
        if chosen_tests is not None:
            selection.write_text("".join(f"{t}\n" for t in chosen_tests))
            # Only the test files of the chosen tests are collected
            files = {t.split("::")[0] for t in chosen_tests}
            narrowed = [arg for arg in command if not arg.endswith(".py") or arg in files]
            # One token: pytest takes a separate value for a path, and would find its configuration (and
            # import roots) above both the tree and the selection file: the checkout's, the unmutated code.
            status, seconds, tail = run_tests(tree, [*narrowed, f"--mutation-select={selection}"], timeout)
            runs.append(f"{len(chosen_tests)} tests: {status} {seconds:.0f}s")
            if status in ("failed", "timeout"):
                return ("killed" if status == "failed" else "timeout"), runs
            if status == "error":
                runs.append(tail.splitlines()[-1] if tail else "")
            elif not whole_list:
                return "survived", runs
        status, seconds, tail = run_tests(tree, command, timeout)
        runs.append(f"all: {status} {seconds:.0f}s")
    finally:
        path.write_text(original)
    if status == "error":
        return "error", runs + [tail]
    return {"passed": "survived", "failed": "killed", "timeout": "timeout"}[status], runs


def sql_folder(
    tree: Path, venv: Path, folder: str, tests: list[str], equivalents: list[dict], limit: int | None, log
) -> dict:
    from mutation.sql_mutants import all_mutants
    from sample_data.tickit import COLUMNS

    command = test_command(venv, tests)
    mutants = all_mutants(tree, folder, COLUMNS)
    files = sorted({mutant.path for mutant in mutants})
    result, timeout, line_map = unmutated_run(tree, command, folder, tests, log, mapped=files)
    if timeout is None:
        return result
    selection = OUT / "linemap" / (folder.replace("/", "__") + ".selected")
    result["generated"] = result["kept"] = len(mutants)
    started, chosen = time.monotonic(), sample(len(mutants), limit, PART)
    for index, mutant in enumerate(mutants):
        entry = {
            "operator": mutant.kind,
            "line": mutant.line,
            "file": mutant.path,
            "id": mutant.id,
            "original": " ".join(mutant.original.split()),
            "mutant": " ".join(mutant.replacement.split()),
        }
        reason = next(
            (
                e["reason"]
                for e in equivalents
                if e["module"] == mutant.path
                and e["line"] == entry["original"]
                and e["mutant"] == entry["mutant"]
            ),
            None,
        )
        if reason is not None:
            result["mutants"].append({**entry, "outcome": "equivalent", "reason": reason})
            continue
        if index not in chosen:
            result["mutants"].append({**entry, "outcome": "not run"})
            continue
        earlier = _earlier_outcome(folder, mutant.id)
        if earlier:
            result["mutants"].append(earlier)
            continue
        path = tree / mutant.path
        # The tests that read the file first (a file no test is seen opening: all of them)
        chosen_tests = (line_map.tests_of(mutant.path, [0]) or None) if line_map else None
        tick = time.monotonic()
        outcome, runs = _run_mutant(
            tree,
            command,
            timeout,
            path,
            mutant.apply(path.read_text()),
            line_map.quickest_first(chosen_tests) if chosen_tests else None,
            selection,
        )
        result["mutants"].append(
            {**entry, "outcome": outcome, "seconds": round(time.monotonic() - tick, 1), "runs": runs}
        )
        log(f"    {outcome:<9} {mutant.describe()}  {runs}")
        PROGRESS(result)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


# Called with a module's result after each mutant (main saves it as partial: a run cut short keeps its part)
PROGRESS = lambda result: None  # noqa: E731


# --survivors-of: the results of an earlier run, {module or SQL folder: {mutant key: its entry}}
EARLIER: dict[str, dict] = {}
PART: tuple[int, int] | None = None  # --part K/N: the mutants of each module this run takes
CAUGHT = ("killed", "timeout")


def _key(entry: dict):
    return (
        entry["id"]
        if "id" in entry
        else (entry["operator"], entry["line"], entry["original"], entry["mutant"])
    )


def load_earlier(out: Path) -> dict[str, dict]:
    results = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    return {r["module"]: {_key(m): m for m in r["mutants"]} for r in results}


def _earlier_outcome(module: str, key) -> dict | None:
    """The entry of a mutant the earlier run (--survivors-of) killed: kept (tests were only added), not run
    again; None: run it (it survived, or is new)."""
    entry = EARLIER.get(module, {}).get(key)
    if entry and entry["outcome"] in CAUGHT:
        return {**entry, "carried": True}
    return None


def sample(count: int, limit: int | None, part: tuple[int, int] | None = None) -> set[int]:
    """The indices of the mutants to run: all, or `limit` of them spread evenly (the same ones each time); of
    those, with `part` K/N, every Nth from the Kth."""
    chosen = range(count) if limit is None or limit >= count else [i * count // limit for i in range(limit)]
    return set(in_shard(chosen, part))  # the split --shard makes of modules, made of mutants


def merged_parts(results: list[dict]) -> list[dict]:
    """One result per module: the results of its parts (--part) joined, each mutant with the outcome of the
    part that ran it (the others have it "not run"), in the first part's order."""
    by_module: dict[str, dict] = {}
    for result in results:
        whole = by_module.get(result["module"])
        if whole is None:
            by_module[result["module"]] = {**result, "mutants": list(result["mutants"])}
            continue
        index = {_key(m): i for i, m in enumerate(whole["mutants"])}
        for mutant in result["mutants"]:
            at = index.get(_key(mutant))
            if at is None:
                whole["mutants"].append(mutant)
            elif whole["mutants"][at]["outcome"] == "not run":
                whole["mutants"][at] = mutant
        whole["seconds"] = whole.get("seconds", 0) + result.get("seconds", 0)
        whole["baseline_seconds"] += result["baseline_seconds"]
        whole["partial"] = whole.get("partial", False) or result.get("partial", False)
        if "error" in result:
            whole["error"] = result["error"]
    return list(by_module.values())


def score(mutants: list[dict]) -> dict:
    names = ("killed", "timeout", "survived", "not covered", "equivalent", "incompetent", "error", "not run")
    counts = {name: 0 for name in names}
    for mutant in mutants:
        counts[mutant["outcome"]] += 1
    caught = counts["killed"] + counts["timeout"]
    tried = caught + counts["survived"] + counts["not covered"]
    counts["score"] = round(100 * caught / tried, 1) if tried else None
    return counts


def write_report(out: Path) -> Path:
    """report.json and report.md from every result file in out/results/."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    results = merged_parts([json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))])
    groups: dict[str, list[dict]] = {}
    for result in results:
        groups.setdefault(result["group"], []).append(result)
    summary = {}
    for group, members in groups.items():
        summary[group] = {
            **score([m for r in members for m in r["mutants"]]),
            "modules": len(members),
            "seconds": round(sum(r.get("seconds", 0) + r["baseline_seconds"] for r in members), 1),
            "errors": [r["module"] for r in members if "error" in r],
            "partial": [r["module"] for r in members if r.get("partial")],
        }
    (out / "report.json").write_text(json.dumps({"summary": summary, "results": results}, indent=1))
    lines = [
        "# Mutation report",
        "",
        "score = killed (timeouts included) / (killed + survived + not covered); equivalent "
        "mutants (tools/mutation/equivalent.toml) are not counted. not covered: a survivor on a line "
        "no test executes (not run).",
        "",
        "| group | modules | killed | timeout | survived | not covered | equivalent | error | not run "
        "| score | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group, s in sorted(summary.items()):
        lines.append(
            f"| {group} | {s['modules']} | {s['killed']} | {s['timeout']} | {s['survived']} | "
            f"{s['not covered']} | {s['equivalent']} | {s['error']} | {s['not run']} | {s['score']} % | "
            f"{s['seconds']} |"
        )
    for result in results:
        if result.get("partial"):
            measured = sum(m["outcome"] not in ("not run",) for m in result["mutants"])
            lines += [
                "",
                f"**{result['module']}: cut short** ({measured} of {result.get('kept', '?')} mutants)",
            ]
        if "error" in result:
            lines += ["", f"**{result['module']}: not run** ({result['error'].splitlines()[0]})"]
    survivors = [(r, m) for r in results for m in r["mutants"] if m["outcome"] in ("survived", "not covered")]
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for result, mutant in survivors:
        where = mutant.get("file", result["module"])
        lines.append(
            f"- `{where}:{mutant['line']}` {mutant['operator']}: `{mutant['original']}` -> "
            f"`{mutant['mutant'] or '(removed)'}`"
            + (" (not covered)" if mutant["outcome"] == "not covered" else "")
        )
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"


def shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) as (K, N)."""
    match = re.fullmatch(r"([1-9][0-9]*)/([1-9][0-9]*)", text)
    if not match or int(match[1]) > int(match[2]):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 1 <= K <= N, e.g. 2/3")
    return int(match[1]), int(match[2])


def in_shard(modules: Sequence, part: tuple[int, int] | None) -> Sequence:
    """The modules (or mutants) of shard K of N: every Nth, from the Kth on; all of them without a shard."""
    if part is None:
        return list(modules)
    k, n = part
    return modules[k - 1 :: n]


def main(argv: list[str] | None = None) -> int:
    global OUT, PART
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", action="append", help="deploy, gate, hooks, lakehouse (default: all)")
    parser.add_argument("--module", action="append", help="one module (path), e.g. tools/deploy/plan.py")
    parser.add_argument("--sql", action="store_true", help="only the SQL mutants")
    parser.add_argument("--no-sql", action="store_true", help="no SQL mutants")
    parser.add_argument(
        "--limit", type=int, help="run N mutants per module, spread evenly over it (a sample)"
    )
    parser.add_argument(
        "--shard",
        type=shard,
        help="K/N: only every Nth module of the selection, from the Kth on (targets.toml order), so that N "
        "jobs share a package",
    )
    parser.add_argument("--rev", help="mutate the tree of this commit instead of the working tree")
    parser.add_argument("--out", type=Path, help="where results and the report go (default: build/mutation)")
    parser.add_argument("--report-only", action="store_true", help="only write the report from results/")
    parser.add_argument(
        "--survivors-of",
        type=Path,
        help="an earlier run's folder (e.g. build/mutation): only its survivors (and new mutants) run again; "
        "its killed mutants keep their outcome (for a before/after when tests were only added)",
    )
    parser.add_argument(
        "--quick-survivors",
        action="store_true",
        help="a mutant the tests executing its line all pass is a survivor without a run of the module's "
        "whole list, unless its line also runs outside one test (quicker for modules with long lists; it may "
        "call survived a mutant that only a test reaching the line through another test's state kills, never "
        "the other way round)",
    )
    parser.add_argument(
        "--part",
        type=shard,
        help="K/N: only every Nth mutant of each module, from the Kth on, so that N jobs share a module (run "
        "each with its own --out, then copy their results/ into one folder: --report-only joins the parts)",
    )
    args = parser.parse_args(argv)
    PART = args.part
    if args.survivors_of:
        EARLIER.update(load_earlier(args.survivors_of.resolve()))

    OUT = (args.out or OUT).resolve()
    if args.report_only:
        report = write_report(OUT)
        print(report.read_text())
        return 0
    targets = load_targets()
    packages = targets["python"]["packages"]
    unknown = set(args.package or []) - set(packages)
    if unknown:
        parser.error(f"unknown package {sorted(unknown)}; the packages are {sorted(packages)}")
    venv = Path(os.environ.get("LAKEHOUSE_VENV") or repository.ROOT / ".venv").absolute()
    tree = OUT / "tree"
    prepare_tree(repository.ROOT, tree, args.rev, venv)
    equivalents = load_equivalents(tree)
    operators = re.compile("|".join(f"(?:{o})" for o in targets["python"]["operators"]))
    results_dir = OUT / "results"
    results_dir.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        print(line, flush=True)

    def save(group: str, result: dict) -> None:
        result["group"] = group
        part = f".part{args.part[0]}of{args.part[1]}" if args.part else ""
        name = result["module"].replace("/", "__") + part + ".json"
        (results_dir / name).write_text(json.dumps(result, indent=1))

    def progress(group: str):
        global PROGRESS
        PROGRESS = lambda result: save(group, {**result, "partial": True})  # noqa: E731

    selected_modules = set(args.module or [])
    chosen: list[tuple[str, str, list[str]]] = []  # (group, module or SQL folder, its tests), in order
    if not args.sql:
        for package, modules in packages.items():
            if not args.package or package in args.package:
                chosen += [(package, module, tests) for module, tests in modules.items()]
    if not args.no_sql and not args.package:
        chosen += [
            ("sql " + folder.removeprefix("sql/"), folder, tests) for folder, tests in targets["sql"].items()
        ]
    chosen = [entry for entry in chosen if not selected_modules or entry[1] in selected_modules]
    for group, module, tests in in_shard(chosen, args.shard):
        progress(group)
        if group.startswith("sql "):
            log(f"== SQL: {module} ({', '.join(tests)})")
            save(group, sql_folder(tree, venv, module, tests, equivalents, args.limit, log))
        else:
            log(f"== {group}: {module} ({', '.join(tests)})")
            save(
                group,
                python_module(
                    tree, venv, module, tests, operators, equivalents, args.limit, log, args.quick_survivors
                ),
            )
    report = write_report(OUT)
    print(report.read_text())
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
