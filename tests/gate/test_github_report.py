"""The pull-request view: annotations from a real pytest log, and the job summary against a base commit of a
real clone (a DAG gains a task, a plugin changes, a DAG is added and one removed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gate import github_report, inventory
from gate.github_report import Failure

DAG_ID = "redshift__04_unload_sales_by_category"
DAG_FILE = f"dags/{DAG_ID}.py"
# A message of 21 lines: one past the limit of 20 lines an annotation carries.
LONG_MESSAGE = [f"line {number}" for number in range(1, 22)]
JSON_ERROR = (
    "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: "
    "line 1 column 2 (char 1)"
)
FAILING_TESTS = f"""
import json

import pytest


@pytest.mark.parametrize("case", ["{DAG_ID}-owner"])
def test_dag_follows_rule(case):
    pytest.fail("{DAG_ID}: owner is 'airflow' (a message longer than the terminal's width). Fix: set owner",
                pytrace=False)


def test_plain():
    value = 1
    assert value == 2, "one is not two"


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_broken_fixture(broken):
    pass


def helper(value):
    assert value == 2, "not two"


def test_through_helper():
    helper(1)


def test_in_python_s_library():
    json.loads("{{")


def test_one_line_past_the_limit():
    raise ValueError("\\n".join(f"line {{number}}" for number in range(1, {len(LONG_MESSAGE) + 1})))
"""


def dag_id_line(repo_root, dag_id: str) -> int:
    lines = (repo_root / "dags" / f"{dag_id}.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if f'"{dag_id}"' in line)


@pytest.fixture(scope="module")
def pytest_log(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("failing")
    (folder / "test_failing.py").write_text(FAILING_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "test_failing.py"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED test_failing.py::test_dag_follows_rule[" in done.stdout
    return done.stdout


def test_failures_are_read_from_pytest_s_short_summary(pytest_log):
    assert github_report.failures(pytest_log) == [
        Failure(
            "FAILED",
            f"test_failing.py::test_dag_follows_rule[{DAG_ID}-owner]",
            f"{DAG_ID}: owner is 'airflow' (a message longer than the terminal's width). Fix: set owner",
        ),
        Failure("FAILED", "test_failing.py::test_plain", "AssertionError: one is not two\nassert 1 == 2"),
        Failure("FAILED", "test_failing.py::test_through_helper", "AssertionError: not two\nassert 1 == 2"),
        Failure("FAILED", "test_failing.py::test_in_python_s_library", JSON_ERROR),
        Failure(
            "FAILED",
            "test_failing.py::test_one_line_past_the_limit",
            "ValueError: " + "\n".join(LONG_MESSAGE[:20]),
        ),
        Failure("ERROR", "test_failing.py::test_broken_fixture", "RuntimeError: fixture broke"),
    ]


def test_a_dag_failure_is_annotated_on_its_dag_id_and_another_on_the_failing_line(pytest_log, repo_root):
    found = github_report.failures(pytest_log)
    lines = github_report.annotations(found, inventory.read_snapshot(), pytest_log, repo_root)
    assert lines == [
        f"::error file={DAG_FILE},line={dag_id_line(repo_root, DAG_ID)},title=FAILED test_dag_follows_rule"
        f"[{DAG_ID}-owner]::{DAG_ID}: owner is 'airflow' (a message longer than the terminal's width). Fix: "
        "set owner",
        "::error file=test_failing.py,line=15,title=FAILED test_plain::AssertionError: one is not two%0A"
        "assert 1 == 2",
        # the last frame: the helper's line where the assertion failed, not the test's call
        "::error file=test_failing.py,line=28,title=FAILED test_through_helper::AssertionError: not two%0A"
        "assert 1 == 2",
        # the last frame in the repository: the test's call, not Python's json/decoder.py
        f"::error file=test_failing.py,line=36,title=FAILED test_in_python_s_library::{JSON_ERROR}",
        "::error file=test_failing.py,line=40,title=FAILED test_one_line_past_the_limit::ValueError: "
        + "%0A".join(LONG_MESSAGE[:20]),
        "::error file=test_failing.py,line=20,title=ERROR test_broken_fixture::RuntimeError: fixture broke",
    ]


def test_a_file_that_does_not_load_is_annotated_at_the_line_its_message_names(repo_root):
    failure = Failure(
        "FAILED",
        "tests/dags/test_dags_load.py::test_dag_file_loads[redshift__99_new.py-parse-purity]",
        "redshift__99_new.py does not load: Variable.get at parse time (line 12). Fix: ...",
    )
    assert github_report.locate(failure, {}, {}, repo_root) == ("dags/redshift__99_new.py", 12)


def test_a_dag_file_failure_naming_no_line_is_annotated_on_the_file_s_first_line(repo_root):
    failure = Failure(
        "FAILED",
        "tests/dags/test_dags_load.py::test_dag_file_loads[redshift__99_new.py-parse-purity]",
        "redshift__99_new.py does not load: ModuleNotFoundError: No module named 'lakehous'",
    )
    assert github_report.locate(failure, {}, {}, repo_root) == ("dags/redshift__99_new.py", 1)


def test_a_test_parametrized_by_the_dag_id_alone_is_annotated_on_its_dag(repo_root):
    failure = Failure("FAILED", f"tests/dags/test_templates_render.py::test_templates_render[{DAG_ID}]", "")
    assert github_report.locate(failure, inventory.read_snapshot(), {}, repo_root) == (
        DAG_FILE,
        dag_id_line(repo_root, DAG_ID),
    )


def test_of_two_dag_ids_a_parameter_starts_with_the_longest_is_the_dag(tmp_path):
    """`redshift__load-v2-owner` starts with `redshift__load-` too: the failure is the longer DAG's."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "load.py").write_text('DAG(dag_id="redshift__load")\n')
    (tmp_path / "dags" / "load_v2.py").write_text('"""Version 2."""\n\nDAG(dag_id="redshift__load-v2")\n')
    snapshot = {"redshift__load": {"file": "load.py"}, "redshift__load-v2": {"file": "load_v2.py"}}

    def located(parameter):
        failure = Failure("FAILED", f"tests/dags/test_dag_policy.py::test_dag_follows_rule[{parameter}]", "")
        return github_report.locate(failure, snapshot, {}, tmp_path)

    assert located("redshift__load-v2-owner") == ("dags/load_v2.py", 3)
    assert located("redshift__load-owner") == ("dags/load.py", 1)


def test_a_dag_whose_file_does_not_quote_its_id_is_annotated_on_the_file_s_first_line(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "made.py").write_text('PREFIX = "redshift"\n\nDAG(dag_id=f"{PREFIX}__made")\n')
    (tmp_path / "dags" / "quoted.py").write_text('\n\nDAG(dag_id="redshift__quoted")\n')
    snapshot = {
        "redshift__made": {"file": "made.py"},
        "redshift__quoted": {"file": "quoted.py"},
        "redshift__gone": {"file": "gone.py"},  # recorded, but its file is not there to read
    }

    def located(dag_id):
        failure = Failure(
            "FAILED", f"tests/dags/test_dag_policy.py::test_dag_follows_rule[{dag_id}-owner]", ""
        )
        return github_report.locate(failure, snapshot, {}, tmp_path)

    assert located("redshift__quoted") == ("dags/quoted.py", 3)
    assert located("redshift__made") == ("dags/made.py", 1)
    assert located("redshift__gone") == ("dags/gone.py", 1)


def test_the_inventory_and_catalogue_checks_are_annotated_on_their_files(repo_root):
    structure = Failure(
        "FAILED", "tests/dags/test_dags_load.py::test_the_dags_match_their_recorded_structure", ""
    )
    docs = Failure("FAILED", "tests/dags/test_dags_load.py::test_the_dag_catalogue_matches_the_dags", "")
    assert github_report.locate(structure, {}, {}, repo_root) == ("tools/gate/inventory.json", 1)
    assert github_report.locate(docs, {}, {}, repo_root) == ("docs/dags.md", 1)


@pytest.mark.parametrize("count", [25, 26])
def test_the_summary_lists_25_failures_and_counts_the_rest(count):
    found = [
        Failure("FAILED", f"tests/dags/test_x.py::test_{number}", "broke") for number in range(1, count + 1)
    ]

    lines = github_report.summary([("FAILED", "pytest")], found, None, None, {}, {}, ({}, "")).splitlines()

    start = lines.index(f"### Failures ({count})") + 2
    listed = lines[start : lines.index("", start)]
    assert listed[:25] == [f"- `tests/dags/test_x.py::test_{number}`: broke" for number in range(1, 26)]
    assert listed[25:] == ([] if count == 25 else ["- ... and 1 more (the job log has them all)"])


def test_workflow_command_characters_are_escaped(repo_root):
    failure = Failure("ERROR", "tests/x.py::test_a[b:c,d]", "50% done\nsecond line")
    [line] = github_report.annotations([failure], {}, "", repo_root)
    assert line == "::error file=tests/x.py,line=1,title=ERROR test_a[b%3Ac%2Cd]::50%25 done%0Asecond line"
    odd_path = Failure("FAILED", "tests/a:b,c/test_x.py::test_a", "broke")
    [line] = github_report.annotations([odd_path], {}, "", repo_root)
    assert line == "::error file=tests/a%3Ab%2Cc/test_x.py,line=1,title=FAILED test_a::broke"


def test_a_failure_is_a_value():
    """Failures are compared and kept as they were read: equal ones are one key, none can be changed."""
    import dataclasses

    failure = Failure("FAILED", "tests/x.py::test_a", "broke")
    assert {failure: 1}[Failure("FAILED", "tests/x.py::test_a", "broke")] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        failure.message = ""


# As ./run_tests.sh runs pytest: on xdist workers, collection errors do not stop the run.
WORKER_TESTS = """
import pytest


def test_located_message():
    pytest.fail("dags/redshift__99_new.py:12: Variable.get at parse time, for every parse of the file.\\n"
                "Fix: read it in a template: {{ var.value.bucket }}", pytrace=False)


def test_plain_message():
    pytest.fail("DAG 'redshift__x' (dags/redshift__x.py): owner is 'airflow'. Fix: set owner", pytrace=False)
"""


@pytest.fixture(scope="module")
def worker_log(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("workers")
    (folder / "test_workers.py").write_text(WORKER_TESTS)
    (folder / "test_syntax.py").write_text("def (\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "--continue-on-collection-errors"]
        + ["-p", "no:cacheprovider", "-n", "1", "."],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[gw0] linux" in done.stdout  # each failure's section names its worker
    return done.stdout


def test_a_message_without_traceback_is_whole_without_the_worker_line(worker_log, repo_root):
    """A message may begin with the file and line it is about (a diagnosis does): it is still the message,
    read whole from its section, not the short summary's cut."""
    found = {failure.nodeid: failure for failure in github_report.failures(worker_log)}

    assert found["test_workers.py::test_located_message"].message == (
        "dags/redshift__99_new.py:12: Variable.get at parse time, for every parse of the file.\n"
        "Fix: read it in a template: {{ var.value.bucket }}"
    )
    assert found["test_workers.py::test_plain_message"].message == (
        "DAG 'redshift__x' (dags/redshift__x.py): owner is 'airflow'. Fix: set owner"
    )
    syntax = found["test_syntax.py"]
    assert syntax.outcome == "ERROR" and syntax.message.endswith("SyntaxError: invalid syntax")
    assert syntax.message.startswith('File "') and "def (" in syntax.message
    lines = github_report.annotations([syntax], {}, worker_log, repo_root)
    assert lines[0].startswith("::error file=test_syntax.py,line=1,title=ERROR test_syntax.py::File ")


def test_an_older_base_inventory_is_said_to_record_no_structure():
    """An inventory of the older format records only each DAG's file: its DAGs are not compared."""
    entry = {"file": "a.py", "tasks": ["load"], "edges": [], "schedule": "manual (no schedule)"}
    head = {"a": entry, "b": {**entry, "file": "b.py"}, "c": {**entry, "file": "c.py"}}
    older = {"a": {"file": "a.py"}, "b": {"file": "b.py"}, "c": head["c"]}

    assert github_report.dag_changes(older, head) == [
        "- the base records no structure for 2 DAGs (an older inventory)"
    ]
    assert github_report.dag_changes(head, head) == []


ADDED_TASK = (
    '    clear_again = clear_s3_prefix("clear_again", layout.UNLOAD_PREFIX)\n    unload >> clear_again\n'
)


@pytest.fixture
def clone(tmp_path, repo_root):
    """A clone at this branch's last commit; the test changes its working tree (the base is HEAD)."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(repo_root), str(repo)], check=True)
    (repo / "build" / "test-logs").mkdir(parents=True)
    return repo


def test_the_summary_shows_steps_failures_and_what_changes_against_the_base(clone, monkeypatch, capsys):
    dag = clone / DAG_FILE
    dag.write_text(dag.read_text() + ADDED_TASK)
    with (clone / "plugins" / "lakehouse" / "assets.py").open("a") as plugin:
        plugin.write("# changed\n")
    recorded = inventory.read_snapshot(clone / "tools" / "gate" / "inventory.json")
    recorded[DAG_ID]["tasks"].append("clear_again")
    recorded[DAG_ID]["edges"].append("unload_sales_by_category -> clear_again")
    recorded["hudi__03_new"] = {**recorded.pop("hudi__01_initial_load"), "variables": ["emr_cluster_id"]}
    hourly = recorded["hudi__02_incremental_upsert"]
    hourly["timetable"]["__var"]["expression"] = "*/5 * * * *"
    hourly["schedule"] = "every five minutes"
    (clone / "tools" / "gate" / "inventory.json").write_text(json.dumps(recorded))
    logs = clone / "build" / "test-logs"
    (logs / "gate-steps").write_text("  ok      flake8\n  FAILED  pytest (fast: not slow)\n")
    (logs / "pytest.log").write_text(
        f"FAILED tests/dags/test_dag_policy.py::test_dag_follows_rule[{DAG_ID}-owner]"
        " - owner is 'airflow'\n"
    )
    summary_file = clone.parent / "summary.md"
    summary_file.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))

    assert github_report.main(["--base", "HEAD"], root=clone) == 0

    text = summary_file.read_text()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout
    assert text.startswith("earlier step\n## DAG gate\n")  # appended: other steps write there too
    hourly_was = "Every hour (cron `0 * * * *` UTC, at the time)"
    since = "start 2024-01-01T00:00:00+00:00; catch-up off"
    expected = [
        "| step | result |",
        "|---|---|",
        "| flake8 | ok |",
        "| pytest (fast: not slow) | **FAILED** |",
        "",
        "### Failures (1)",
        "",
        f"- `tests/dags/test_dag_policy.py::test_dag_follows_rule[{DAG_ID}-owner]`: owner is 'airflow'",
        "",
        f"## What this changes in production (against `HEAD`, {head[:12]})",
        "",
        "> [!WARNING]",
        "> **MWAA environment update on deploy, 20-30 min**: `plugins.zip` change.",
        "",
        "### DAGs",
        "",
        "- added: `hudi__03_new` (manual (no schedule); 6 tasks; needs the Variables `emr_cluster_id`)",
        "- removed: `hudi__01_initial_load`",
        f"- changed: `hudi__02_incremental_upsert`: schedule: {hourly_was} -> every five minutes",
        f"- changed: `{DAG_ID}`: tasks added: clear_again; edges added: "
        "unload_sales_by_category -> clear_again",
        "",
        "### Schedule changes",
        "",
        "| DAG | settings (before -> after) | runs at unpause | runs per day | verdict |",
        "|---|---|---|---|---|",
        f"| `hudi__02_incremental_upsert` | {hourly_was}; {since} -> every five minutes; {since} | 1 -> 1 | "
        "24 -> more than 48 | **REFUSED**<br>more than 48 runs per day, more than "
        "schedule_max_runs_per_day = 48 |",
        f"| `hudi__03_new` | not recorded -> manual (no schedule); {since} | - -> 0 | - -> 0 | **ok** |",
        "",
        "### Bundle files",
        "",
        f"- changed: `{DAG_FILE}`, `plugins.zip`",
    ]
    assert text.splitlines()[3:] == expected
    out = capsys.readouterr().out
    assert out.startswith(f"::error file={DAG_FILE},line=")


def test_a_tree_that_cannot_ship_is_named_in_the_summary_instead_of_its_bundle_files(
    clone, monkeypatch, capsys
):
    (clone / "dags" / "sql").mkdir()
    (clone / "dags" / "sql" / "stray.sql").write_text("SELECT 1;\n")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    assert github_report.main(["--base", "HEAD"], root=clone) == 0

    out = capsys.readouterr().out.splitlines()
    files = out.index("### Bundle files")
    assert out[files + 1 : files + 3] == [
        "",
        "The bundles could not be compared: dags/sql/stray.sql: dags/sql/ is where the bundle puts the "
        "repository's sql/. Fix: move the file to sql/ at the repository root.",
    ]


def test_a_refusal_of_several_lines_is_shown_whole_in_the_summary(clone, monkeypatch, capsys):
    """The bundle refuses a symbolic link with a heading line, the link, why, and the fix: all of it shows."""
    from deploy import stamp

    (clone / "dags" / "settings.yaml").symlink_to("../config/variables.json")
    tree = stamp.tree_hash(clone)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    assert github_report.main(["--base", "HEAD"], root=clone) == 0

    out = capsys.readouterr().out.splitlines()
    files = out.index("### Bundle files")
    block = out[files + 5 : out.index("```", files + 5)]
    assert out[files + 1 : files + 4] == [
        "",
        f"The bundles could not be compared: tree {tree[:12]} cannot ship as it is:",
        "",
    ]
    assert out[files + 3 : files + 5] == ["", "```text"]
    assert block[0] == "  dags/settings.yaml is a symbolic link to ../config/variables.json"
    assert block[-1].startswith("  Fix: commit the file itself in place of the link")


def test_the_schedule_changes_are_reviewed_with_the_acknowledgements_of_the_tree_compared(
    clone, monkeypatch, capsys
):
    acknowledged = clone / "tools" / "gate" / "acknowledged_schedule_changes.toml"
    recorded = inventory.read_snapshot(clone / "tools" / "gate" / "inventory.json")
    hourly = recorded["hudi__02_incremental_upsert"]
    hourly["timetable"]["__var"]["expression"] = "*/5 * * * *"
    hourly["schedule"] = "every five minutes"
    (clone / "tools" / "gate" / "inventory.json").write_text(json.dumps(recorded))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    acknowledged.write_text('[[change]]\ndag_id = "hudi__02_incremental_upsert"\nsettings = "s"\n')
    assert github_report.main(["--base", "HEAD"], root=clone) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[out.index("### Schedule changes") + 2] == (
        f"**Schedule changes not reviewed**: {acknowledged}: [[change]] number 1 lacks reason. Fix: give "
        "dag_id, settings (as the gate's report prints them) and the reason the reviewer accepts the change."
    )

    settings = "every five minutes; start 2024-01-01T00:00:00+00:00; catch-up off"
    acknowledged.write_text(
        f'[[change]]\ndag_id = "hudi__02_incremental_upsert"\nsettings = "{settings}"\nreason = "agreed"\n'
    )
    assert github_report.main(["--base", "HEAD"], root=clone) == 0
    out = capsys.readouterr().out.splitlines()
    row = out[out.index("### Schedule changes") + 4]
    assert row.startswith("| `hudi__02_incremental_upsert` |")
    assert row.endswith(
        "| **acknowledged**<br>more than 48 runs per day, more than schedule_max_runs_per_day = 48<br>"
        "acknowledged: agreed |"
    )


def test_without_a_base_the_summary_says_so(clone, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert github_report.main(["--base", "0" * 40], root=clone) == 0
    out = capsys.readouterr().out
    assert "**The gate did not finish**: no step results in `build/test-logs/gate-steps`." in out
    assert f"No base commit to compare with (`{'0' * 40}`): nothing to compare." in out


def test_help_says_what_the_command_does_in_its_first_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        github_report.main(["--help"])

    assert exit_.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the description to the terminal
    assert github_report.__doc__.splitlines()[0] in shown
