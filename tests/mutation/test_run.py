"""mutation.run: what each module's mutants run against, the reviewed equivalents, the score."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import repository
from mutation import run


def test_every_module_of_the_mutated_packages_has_test_files_that_exist():
    targets = run.load_targets()
    listed = {
        module: tests
        for modules in targets["python"]["packages"].values()
        for module, tests in modules.items()
    }
    assert set(targets["python"]["packages"]) == set(run.PACKAGE_FOLDERS)
    for module, tests in {**listed, **targets["sql"]}.items():
        assert (repository.ROOT / module).exists(), module
        assert tests and [t for t in tests if not (repository.ROOT / t).is_file()] == [], module


def test_a_module_without_tests_is_refused_naming_it(tmp_path, monkeypatch):
    text = run.TARGETS.read_text().replace('"tools/deploy/plan.py" = [', '"tools/deploy/plan_gone.py" = [')
    (tmp_path / "targets.toml").write_text(text)
    monkeypatch.setattr(run, "TARGETS", tmp_path / "targets.toml")
    with pytest.raises(SystemExit, match=r"no tests listed for \['tools/deploy/plan.py'\].*Fix: add"):
        run.load_targets()


def test_each_operator_pattern_names_cosmic_ray_operators():
    import cosmic_ray.plugins

    names = list(cosmic_ray.plugins.operator_names())
    for pattern in run.load_targets()["python"]["operators"]:
        assert [name for name in names if re.fullmatch(pattern, name)], pattern


def test_every_equivalent_mutant_has_a_reason(tmp_path, monkeypatch):
    for entry in run.load_equivalents():
        assert entry["reason"].strip() and entry["line"] != entry["mutant"], entry
    (tmp_path / "equivalent.toml").write_text(
        '[[equivalent]]\nmodule = "tools/deploy/plan.py"\nline = "a < 1"\nmutant = "a <= 1"\nreason = " "\n'
    )
    monkeypatch.setattr(run, "EQUIVALENT", tmp_path / "equivalent.toml")
    with pytest.raises(SystemExit, match="lacks \\['a reason'\\]"):
        run.load_equivalents()


def test_an_equivalent_line_the_module_has_twice_needs_its_line_number(tmp_path, monkeypatch):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools/m.py").write_text(
        "def f(r):\n    if r != 0:\n        return 1\n    if r != 0:\n        return 2\n"
    )
    entry = 'module = "tools/m.py"\nline = "if r != 0:"\nmutant = "if r != -1:"\nreason = "why"\n'
    monkeypatch.setattr(run, "EQUIVALENT", tmp_path / "equivalent.toml")

    (tmp_path / "equivalent.toml").write_text(f"[[equivalent]]\n{entry}")
    with pytest.raises(SystemExit, match=r"has `if r != 0:` on lines \[2, 4\].*Fix: add `lineno = N`"):
        run.load_equivalents(tmp_path)

    (tmp_path / "equivalent.toml").write_text(f"[[equivalent]]\n{entry}lineno = 4\n")
    equivalents = run.load_equivalents(tmp_path)
    assert run.equivalent_reason(equivalents, "tools/m.py", 4, "    if r != 0:", "    if r != -1:") == "why"
    assert run.equivalent_reason(equivalents, "tools/m.py", 2, "    if r != 0:", "    if r != -1:") is None
    assert run.equivalent_reason(equivalents, "tools/m.py", 4, "    if r != 0:", "    if r == 0:") is None


def test_the_score_counts_timeouts_as_killed_and_leaves_equivalent_and_unrun_mutants_out():
    outcomes = ["killed", "killed", "timeout", "survived", "equivalent", "not run", "incompetent"]
    counts = run.score([{"outcome": outcome} for outcome in outcomes])
    assert counts["score"] == 75.0
    assert (counts["killed"], counts["timeout"], counts["survived"], counts["equivalent"]) == (2, 1, 1, 1)
    assert run.score([{"outcome": "equivalent"}])["score"] is None


@pytest.mark.parametrize(
    "count, limit, chosen",
    [(10, None, set(range(10))), (10, 20, set(range(10))), (10, 3, {0, 3, 6}), (7, 1, {0})],
)
def test_a_sample_is_spread_over_the_module_and_the_same_every_time(count, limit, chosen):
    assert run.sample(count, limit) == chosen


def test_the_report_adds_up_the_results_of_every_module(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for name, group, outcomes in [
        ("a", "deploy", ["killed", "survived"]),
        ("b", "deploy", ["killed", "timeout", "equivalent", "not covered"]),
        ("c", "sql redshift", ["survived"]),
    ]:
        mutants = [
            {"outcome": o, "operator": "op", "line": 3, "original": "x < 1", "mutant": "x <= 1"}
            for o in outcomes
        ]
        result = {
            "module": f"{name}.py",
            "group": group,
            "baseline_seconds": 2.0,
            "seconds": 8.0,
            "mutants": mutants,
        }
        (results / f"{name}.json").write_text(json.dumps(result))

    assert run.main(["--report-only", "--out", str(tmp_path)]) == 0

    report = (tmp_path / "report.md").read_text()
    # killed, timeout, survived, not covered, equivalent, error, not run, score: 3 of 5
    assert "| deploy | 2 | 2 | 1 | 1 | 1 | 1 | 0 | 0 | 60.0 % | 20.0 |" in report
    assert "| sql redshift | 1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 0.0 % | 10.0 |" in report
    assert "## Survivors (3)" in report and "- `a.py:3` op: `x < 1` -> `x <= 1`\n" in report
    assert "- `b.py:3` op: `x < 1` -> `x <= 1` (not covered)" in report
    assert json.loads((tmp_path / "report.json").read_text())["summary"]["deploy"]["score"] == 60.0


def test_a_run_past_its_timeout_is_stopped_with_the_processes_it_started(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, time; child = subprocess.Popen(['sleep', '60']); "
        f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)"
    )

    status, seconds, _ = run.run_tests(tmp_path, [sys.executable, "-c", script], timeout=3)

    assert status == "timeout" and seconds < 30
    time.sleep(0.5)
    assert _state(int(pid_file.read_text())) in (
        "gone",
        "Z",
    )  # killed (a zombie until its new parent reaps it)


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "gone"
    return next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))


def test_the_mutated_copy_is_a_checkout_using_the_running_venv(tmp_path):
    source = tmp_path / "checkout"
    (source / "tools").mkdir(parents=True)
    (source / "tools" / "m.py").write_text("X = 1\n")
    (source / ".gitignore").write_text((repository.ROOT / ".gitignore").read_text())
    (source / ".venv").mkdir()  # ignored: never copied
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    venv = Path(sys.prefix)

    run.prepare_tree(source, tmp_path / "tree", None, venv)

    tree = tmp_path / "tree"
    assert (tree / "tools" / "m.py").read_text() == "X = 1\n"
    assert (tree / ".venv").resolve() == venv.resolve()
    # a checkout: what it holds is committed, the venv ignored
    listed = subprocess.run(["git", "ls-files"], cwd=tree, capture_output=True, text=True, check=True).stdout
    assert listed.split() == [".gitignore", "tools/m.py"]
    assert (
        subprocess.run(["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True).stdout
        == ""
    )


def test_a_mutant_runs_against_the_copy_s_code_when_the_copy_sits_inside_the_checkout(tmp_path):
    """As in build/mutation/: the checkout's pytest configuration (with its import roots) sits above both the
    copy and the selection file, and must not be the one the mutant's tests run with."""
    checkout = tmp_path / "checkout"
    tree = checkout / "build" / "mutation" / "tree"
    selection = checkout / "build" / "mutation" / "linemap" / "calc.py.selected"
    for folder, ini in ((checkout, "[pytest]\npythonpath = .\n"), (tree, "[pytest]\n")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.ini").write_text(ini)
        (folder / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tree / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 1) == 3\n"
    )
    (tree / "tools").symlink_to(repository.TOOLS)  # the plugins the runner loads
    selection.parent.mkdir(parents=True)
    command = run.test_command(Path(sys.prefix), ["test_calc.py"])

    outcome, runs = run._run_mutant(
        tree,
        command,
        120,
        tree / "calc.py",
        "def add(a, b):\n    return a - b\n",
        {"test_calc.py::test_add"},
        selection,
    )

    assert outcome == "killed" and len(runs) == 1 and runs[0].startswith("1 tests: failed"), runs
    assert (tree / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(
    "whole_list, outcome, runs",
    [(True, "killed", ["1 tests: passed", "all: failed"]), (False, "survived", ["1 tests: passed"])],
)
def test_a_mutant_the_chosen_tests_pass_runs_the_whole_list_unless_told_not_to(
    tmp_path, whole_list, outcome, runs
):
    """--quick-survivors: the chosen tests passing is then a survivor (a test not chosen is not run)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n\n\n"
        "def test_one():\n    assert add(0, 1) == 1\n"
    )
    (tmp_path / "tools").symlink_to(repository.TOOLS)
    command = run.test_command(Path(sys.prefix), ["test_calc.py"])

    got, got_runs = run._run_mutant(
        tmp_path,
        command,
        120,
        tmp_path / "calc.py",
        "def add(a, b):\n    return a - b\n",
        ["test_calc.py::test_zero"],
        tmp_path / "selected",
        whole_list=whole_list,
    )

    assert (got, [r.rsplit(" ", 1)[0] for r in got_runs]) == (outcome, runs)
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize(
    "part, kept",
    [(None, ["a", "b", "c", "d", "e"]), ((1, 2), ["a", "c", "e"]), ((2, 2), ["b", "d"]), ((3, 3), ["c"])],
)
def test_shards_split_the_modules_between_them_each_once_in_order(part, kept):
    assert run.in_shard(["a", "b", "c", "d", "e"], part) == kept


def test_shards_of_n_together_are_every_module_once():
    modules = [f"m{i}" for i in range(13)]
    together = [m for k in (1, 2, 3) for m in run.in_shard(modules, (k, 3))]
    assert sorted(together) == sorted(modules) and len(together) == 13


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "2", "1/3/1"])
def test_a_shard_must_be_k_of_n(text, capsys):
    with pytest.raises(SystemExit) as refused:
        run.main(["--shard", text, "--report-only"])
    assert refused.value.code == 2
    assert f"{text!r} is not K/N with 1 <= K <= N" in capsys.readouterr().err


MODULE = """\
START = 0


def limit():
    return 3


LIMIT = limit()


def big(x):
    return x > limit()
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the line map needs sys.monitoring (Python 3.12)")
@pytest.mark.parametrize("quick", [False, True])
def test_quick_survivors_skip_the_whole_list_only_for_lines_no_shared_code_runs(tmp_path, monkeypatch, quick):
    """A survivor on a line only its tests run: one run with --quick-survivors, two without; on a line run at
    import too: the whole list after its tests either way; on a line run only at import: the whole list."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pytest.ini").write_text("[pytest]\n")
    (tree / "calc.py").write_text(MODULE)
    (tree / "test_calc.py").write_text("from calc import big\n\n\ndef test_big():\n    assert big(10)\n")
    (tree / "tools").symlink_to(repository.TOOLS)
    monkeypatch.setattr(run, "OUT", tmp_path / "out")
    operators = re.compile(r"core/ReplaceComparisonOperator_Gt_GtE|core/NumberReplacer")

    result = run.python_module(
        tree, Path(sys.prefix), "calc.py", ["test_calc.py"], operators, [], None, lambda line: None, quick
    )

    runs = {(m["original"], m["mutant"]): [r.split(":")[0] for r in m["runs"]] for m in result["mutants"]}
    assert {m["outcome"] for m in result["mutants"]} == {"survived"}
    assert runs == {
        ("return x > limit()", "return x >= limit()"): ["1 tests"] if quick else ["1 tests", "all"],
        ("return 3", "return 4"): ["1 tests", "all"],
        ("return 3", "return 2"): ["1 tests", "all"],
        ("START = 0", "START = 1"): ["all"],
        ("START = 0", "START = -1"): ["all"],
    }
    assert (tree / "calc.py").read_text() == MODULE


@pytest.mark.parametrize(
    "count, limit, part, chosen",
    [
        (5, None, (1, 2), {0, 2, 4}),
        (5, None, (2, 2), {1, 3}),
        (9, 3, (2, 3), {3}),
        (9, 3, (3, 3), {6}),
        (2, None, (3, 3), set()),
    ],
)
def test_a_part_is_every_nth_mutant_of_the_sample_from_the_kth(count, limit, part, chosen):
    assert run.sample(count, limit, part) == chosen


def test_the_parts_of_one_module_are_one_result_in_the_report(tmp_path):
    """Two jobs ran --part 1/2 and 2/2 of a.py: each ran every other mutant, and one was cut short."""
    results = tmp_path / "results"
    results.mkdir()
    lines = [3, 4, 5, 6]
    ran = {1: ["killed", "not run", "survived", "not run"], 2: ["not run", "timeout", "not run"]}
    for k, outcomes in ran.items():
        mutants = [
            {"outcome": o, "operator": "op", "line": line, "original": "x < 1", "mutant": "x <= 1"}
            for line, o in zip(lines, outcomes)
        ]
        result = {"module": "a.py", "group": "deploy", "baseline_seconds": 2.0, "seconds": 3.0 * k}
        result.update(mutants=mutants, partial=k == 2)
        (results / f"a.py.part{k}of2.json").write_text(json.dumps(result))

    assert run.main(["--report-only", "--out", str(tmp_path)]) == 0

    (whole,) = json.loads((tmp_path / "report.json").read_text())["results"]
    assert [(m["line"], m["outcome"]) for m in whole["mutants"]] == [
        (3, "killed"),
        (4, "timeout"),
        (5, "survived"),
        (6, "not run"),
    ]
    report = (tmp_path / "report.md").read_text()
    assert "| deploy | 1 | 1 | 1 | 1 | 0 | 0 | 0 | 1 | 66.7 % | 13.0 |" in report
    assert "**a.py: cut short** (3 of ? mutants)" in report
