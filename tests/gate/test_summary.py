"""./run_tests.sh's diagnosis (gate.summary): real outcomes only, one line per root cause, causes first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

import repository
from gate.summary import (
    COLLECTION_RANK,
    OTHER_RANK,
    SHOWN_CAUSES,
    SHOWN_LOG,
    Failure,
    cause_line,
    diagnosis,
    main,
    outcome_counts,
    root_causes,
    step_problems,
    subjects_of,
)
from tests.gate.test_gate_run import run_dag_suite

SUITE_WITH_NOISE = """
import logging


def test_logs_lines_that_look_like_outcomes():
    print("FAILED tests/test_fake.py::test_fake - printed, not a verdict")
    logging.getLogger("noise").error("ERROR tests/test_fake.py - logged, not a verdict")
    print("SELECT 1\\nFROM t")


def test_really_fails():
    print("FAILED tests/test_fake.py::test_other - printed by a failing test")
    assert 1 == 2, "the one real failure"
"""


def run_plugin(tmp_path: Path, *pytest_args: str) -> dict:
    (tmp_path / "test_noise.py").write_text(SUITE_WITH_NOISE)
    outcomes = tmp_path / "outcomes.json"
    roots = os.pathsep.join(str(root) for root in repository.IMPORT_ROOTS)
    env = {**os.environ, "LAKEHOUSE_GATE_OUTCOMES": str(outcomes), "PYTHONPATH": roots}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "gate.summary", "-p", "no:cacheprovider", *pytest_args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    return json.loads(outcomes.read_text())


# Only the full run uses pytest-xdist (--fast and --dag run in one process): so does the xdist case.
@pytest.mark.parametrize(
    "workers", [[], pytest.param(["-n", "2"], marks=pytest.mark.slow)], ids=["one-process", "xdist"]
)
def test_only_real_outcomes_are_counted_not_captured_output(tmp_path, workers):
    record = run_plugin(tmp_path, *workers)

    assert record["counts"] == {"passed": 1, "failed": 1, "errors": 0, "skipped": 0}
    assert [(f["nodeid"], f["kind"]) for f in record["failures"]] == [
        ("test_noise.py::test_really_fails", "failed")
    ]
    assert diagnosis(record) == [
        "Other failures:",
        "  FAILED test_noise.py::test_really_fails - the one real failure",
    ]


def test_a_module_that_does_not_import_counts_as_an_error_and_the_rest_still_run(tmp_path):
    (tmp_path / "test_broken.py").write_text("import no_such_module  # noqa: F401\n")

    record = run_plugin(tmp_path, "--continue-on-collection-errors")

    assert record["counts"] == {"passed": 1, "failed": 1, "errors": 1, "skipped": 0}
    assert [(f["nodeid"], f["kind"]) for f in record["failures"]] == [
        ("test_broken.py", "collection"),
        ("test_noise.py::test_really_fails", "failed"),
    ]


def failure(nodeid: str, message: str, rank: int = OTHER_RANK, subjects=(), kind="failed") -> Failure:
    return Failure(nodeid, kind, message, rank, list(subjects))


def test_causes_come_in_order_import_errors_rules_then_the_rest_and_consequences_fold():
    broken, renamed = "redshift__09_broken", "redshift__05_catalog"
    failures = [
        failure("tests/other.py::test_unrelated", "AssertionError: 1 == 2"),
        failure("tests/x.py", "ModuleNotFoundError: no_such_module", COLLECTION_RANK, kind="collection"),
        failure("tests/sql.py::test_parse[b]", f"{broken} did not load", subjects=[broken]),
        failure("tests/dags/inv.py::test_inventory", "inventory: ...", 2, [renamed, f"{renamed}_x", broken]),
        failure(
            "tests/dags/policy.py::test[r-dag-id]",
            f"dag-id-matches-file: DAG '{renamed}'",
            1,
            [renamed, f"{renamed}_x"],
        ),
        failure(
            "tests/dags/load.py::test_loads[b.py]", f"import: dags/{broken}.py does not load", 0, [broken]
        ),
        failure(
            "tests/gate/corpus.py::test_shipped",
            f"assert ['dag-id-matches-file: DAG {renamed}']",
            101,
            [renamed],
        ),
        failure("tests/other.py::test_twice", "AssertionError: 1 == 2"),  # the same first line: a repeat
    ]

    shown, folded = root_causes(failures)

    assert [f.nodeid for f in shown] == [
        "tests/dags/load.py::test_loads[b.py]",
        "tests/dags/policy.py::test[r-dag-id]",
        "tests/x.py",
        "tests/other.py::test_twice",
    ]
    assert folded == 4


def test_a_rule_broken_by_two_dags_is_two_causes_and_a_failure_without_subjects_is_never_folded():
    failures = [
        failure("p::t[a-tags]", "tags: DAG 'a'", 1, ["a"]),
        failure("p::t[b-tags]", "tags: DAG 'b'", 1, ["b"]),
        failure("o::t", "something else entirely"),
    ]
    shown, folded = root_causes(failures)
    assert [f.nodeid for f in shown] == ["p::t[a-tags]", "p::t[b-tags]", "o::t"] and folded == 0


def test_a_follow_up_naming_a_dag_no_cause_names_is_kept():
    failures = [
        failure("p::t[a-tags]", "tags: DAG 'a'", 1, ["a"]),
        failure("s::t[a-b]", "a and b", subjects=["a", "b"]),  # b has no cause shown: a cause of its own
    ]
    assert [f.nodeid for f in root_causes(failures)[0]] == ["p::t[a-tags]", "s::t[a-b]"]


def test_a_failed_pytest_step_is_summed_up_from_its_outcomes_or_said_to_have_reported_none(
    tmp_path, capsys, monkeypatch
):
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.chdir(tmp_path)
    step = "pytest (fast: not slow)"

    main([str(logs), step])  # pytest stopped before it wrote any outcome
    nothing = capsys.readouterr().out.splitlines()
    record = {
        "counts": {"failed": 1, "passed": 3},
        "failures": [asdict(failure("t.py::test_a", "assert 1 == 2"))],
    }
    (logs / "outcomes.json").write_text(json.dumps(record))
    main([str(logs), step])
    reported = capsys.readouterr().out.splitlines()

    assert nothing[0] == "  pytest did not report any outcome (it stopped before running tests): see the log"
    assert reported[0] == "pytest: 1 failed, 3 passed" and "did not report" not in "".join(reported)
    causes = diagnosis(record)
    assert causes and reported[1:-1] == [f"  {line}" for line in causes]  # the causes, before the fix
    assert reported[-1].startswith("Fix: the causes above, in order")


def test_the_footer_names_only_the_failed_steps_with_repo_relative_files(tmp_path, capsys, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "black.log").write_text(
        f"would reformat {tmp_path}/dags/x.py\n\nOh no!\n1 file would be reformatted.\n"
    )
    (logs / "flake8.log").write_text("./dags/x.py:1:2: E225 missing whitespace around operator\n")
    monkeypatch.chdir(tmp_path)

    main([str(logs), "black --check"])
    only_black = capsys.readouterr().out
    problems, fixes = step_problems(logs, ["flake8"], tmp_path)

    assert only_black.splitlines() == [
        "  black: would reformat dags/x.py",
        "Fix: tools/venv.sh black dags/x.py",
    ]
    assert str(tmp_path) not in only_black
    assert problems == ["flake8: dags/x.py:1:2: E225 missing whitespace around operator"]
    assert fixes == ["edit the lines flake8 lists, then: tools/venv.sh flake8 dags/x.py"]


@pytest.mark.slow
def test_a_dag_id_that_differs_from_its_file_is_one_line_naming_the_cause(repo_root, tmp_path):
    """Before: nine FAILED lines, the useful one third. Now: the rule first, every consequence folded."""
    copy = tmp_path / "copy"
    copy.mkdir()
    renamed = copy / "redshift__05_catalog_sales_by_category.py"
    renamed.write_text(
        (repo_root / "dags" / renamed.name)
        .read_text()
        .replace('dag_id="redshift__05_catalog_sales_by_category"', 'dag_id="redshift__05_catalog_sales"')
    )
    outcomes = tmp_path / "logs" / "outcomes.json"
    outcomes.parent.mkdir()
    suite = (
        "-p",
        "gate.summary",
        "tests/dags/test_dags_load.py",
        "tests/dags/test_dag_policy.py",
        "tests/dags/test_templates_render.py",
        "tests/sql/test_sql_parses.py",
        "tests/gate/test_bad_dag_corpus.py::test_shipped_dags_break_no_rule",
    )

    done = run_dag_suite(repo_root, tmp_path, [renamed], suite=suite, LAKEHOUSE_GATE_OUTCOMES=str(outcomes))
    record = json.loads(outcomes.read_text())
    lines = diagnosis(record)

    assert done.returncode == 1
    assert record["counts"]["failed"] == 9, done.stdout[-3000:]
    assert lines == [
        "DAG rules:",
        "  dag-id-matches-file: DAG 'redshift__05_catalog_sales' "
        "(dags/redshift__05_catalog_sales_by_category.py): dag_id 'redshift__05_catalog_sales' differs from "
        "the file name 'redshift__05_catalog_sales_by_category'. "
        "Fix: name the file <dag_id>.py or set dag_id to the file name.",
        "(8 more failing tests follow from the causes above)",
    ], "\n".join(lines)


@pytest.mark.parametrize("broken", [SHOWN_CAUSES, SHOWN_CAUSES + 1])
def test_a_long_section_shows_its_first_causes_and_counts_the_rest(broken):
    """At the limit every cause is shown and nothing is said to be left out; one past it, one is counted."""
    from dataclasses import asdict

    failures = [
        failure(f"p::t[d{n:02}-tags]", f"tags: DAG 'd{n:02}'", 1, [f"d{n:02}"]) for n in range(broken)
    ]

    lines = diagnosis({"failures": [asdict(f) for f in failures]})

    assert lines[0] == "DAG rules:"
    assert lines[1 : SHOWN_CAUSES + 1] == [f"  tags: DAG 'd{n:02}'" for n in range(SHOWN_CAUSES)]
    assert lines[SHOWN_CAUSES + 1 :] == ([] if broken == SHOWN_CAUSES else ["  ... and 1 more"])


def test_a_failed_secret_scan_is_summed_up_with_its_own_cause_and_fix(tmp_path, repo_root):
    from gate.secret_scan import FIX

    logs = tmp_path / "logs"
    logs.mkdir()
    scan = logs / "secret-scan.log"
    scan.write_text(
        "secret scan: possible credentials in tree 0123456789ab:\n"
        "  dags/x.py:3: AWS secret access key\n"
        "  sql/y.sql:1: private key\n"
        f"Fix: {FIX}\n"
    )
    found = step_problems(logs, ["secret scan"], repo_root)
    cause = (
        "secret scan: git rev-parse --path-format=absolute --git-path index failed in /tmp/zip: "
        "fatal: not a git repository (or any of the parent directories): .git."
    )
    scan.write_text(f"{cause} Fix: run from a git checkout of the repository.\n")
    outside_git = step_problems(logs, ["secret scan"], repo_root)
    scan.unlink()
    no_log = step_problems(logs, ["secret scan"], repo_root)

    assert found == (
        ["secret scan: dags/x.py:3: AWS secret access key", "secret scan: sql/y.sql:1: private key"],
        [FIX],
    )
    assert outside_git == ([cause], ["run from a git checkout of the repository."])
    assert no_log == ([], [FIX])


@pytest.mark.parametrize("count", [10, 11])
def test_flake8_shows_its_first_ten_findings_and_counts_the_rest(tmp_path, count):
    """At the limit every finding is shown; one past it, the last is counted."""
    (tmp_path / "flake8.log").write_text(
        "".join(f"./dags/x.py:{n}:1: E225 missing whitespace around operator\n" for n in range(1, count + 1))
    )

    problems, _ = step_problems(tmp_path, ["flake8"], tmp_path)

    assert problems[:10] == [
        f"flake8: dags/x.py:{n}:1: E225 missing whitespace around operator" for n in range(1, 11)
    ]
    assert problems[10:] == ([] if count == 10 else ["flake8: ... and 1 more"])


def test_a_failure_without_a_message_is_its_label_and_test_alone():
    assert cause_line(failure("t.py::test_x", "")) == "FAILED t.py::test_x"
    assert cause_line(failure("t.py::test_x", "\n  boom \n", kind="error")) == "ERROR t.py::test_x - boom"
    assert cause_line(failure("t.py", "E", COLLECTION_RANK, kind="collection")) == "ERROR t.py - E"


def test_a_module_that_does_not_import_is_recorded_with_the_exception_pytest_names(tmp_path):
    (tmp_path / "test_broken.py").write_text("import no_such_module  # noqa: F401\n")

    record = run_plugin(tmp_path, "--continue-on-collection-errors")

    assert record["failures"][0]["message"] == "ModuleNotFoundError: No module named 'no_such_module'"


def test_a_skipped_test_is_counted_once(tmp_path):
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n\n@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n"
    )

    record = run_plugin(tmp_path, "test_skips.py")

    assert record["counts"] == {"passed": 0, "failed": 0, "errors": 0, "skipped": 1}


def test_without_arguments_the_command_prints_its_usage(capsys):
    assert main([]) == 2
    assert capsys.readouterr().err == "usage: python -m gate.summary LOGS_DIR [FAILED_STEP...]\n"


def test_no_counts_say_no_tests_ran():
    assert outcome_counts({}) == "no tests ran"
    assert outcome_counts({"counts": {"failed": 0, "errors": 2, "passed": 0}}) == "2 errors"


def test_the_footer_names_the_log_the_user_is_shown_or_the_log_under_the_repository(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "logs").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SHOWN_LOG, raising=False)

    main(["sub/../logs", "pytest"])
    relative = capsys.readouterr().out.splitlines()[-1]
    monkeypatch.setenv(SHOWN_LOG, "/tmp/pre-push/pytest.log")
    main(["sub/../logs", "pytest"])
    shown = capsys.readouterr().out.splitlines()[-1]

    assert relative == "Fix: the causes above, in order; the whole log: logs/pytest.log"
    assert shown == "Fix: the causes above, in order; the whole log: /tmp/pre-push/pytest.log"


def test_one_dag_breaking_two_rules_is_two_causes():
    failures = [
        failure("p::t[a-tags]", "tags: DAG 'a'", 1, ["a"]),
        failure("p::t[a-owner]", "owner: DAG 'a'", 1, ["a"]),
    ]

    assert root_causes(failures) == (failures[::-1], 0)


def test_the_subjects_come_from_the_message_before_pytest_s_assert_rendering_only():
    message = "assertions about a failed\nassert ['a', 'b'] == []"

    assert subjects_of({}, message, {"a", "b"}) == ["a"]


def test_the_subjects_are_the_known_names_among_the_parameters_a_dag_id_or_its_file():
    params = {"dag_id": "a", "path": "dags/b.py", "count": 3, "rule": "tags"}

    assert subjects_of(params, "", {"a", "b"}) == ["a", "b"]
    assert subjects_of({}, "nothing known: -- none", set()) == []


def test_the_longest_known_name_in_a_message_is_its_subject():
    """A DAG id may hold '-' or '.', which end a word: 'a' must not be taken out of 'a-b'."""
    assert subjects_of({}, "DAG a-b broke", {"a", "a-b"}) == ["a-b"]


def test_the_known_names_are_those_of_the_parsed_folder_never_empty(loaded):
    from gate.summary import _known_names

    names = _known_names()

    assert set(loaded.dags) <= names and {path.stem for path in loaded.files} <= names
    assert "" not in names


def test_a_secret_scan_that_could_not_run_is_its_first_line_and_the_first_line_of_its_fix(tmp_path):
    (tmp_path / "secret-scan.log").write_text(
        "secret scan: git ls-tree failed\nsecret scan: (while reading the tree)\n"
        "Fix: run from a git checkout of the repository.\n(then run it again)\n"
    )

    assert step_problems(tmp_path, ["secret scan"], tmp_path) == (
        ["secret scan: git ls-tree failed"],
        ["run from a git checkout of the repository."],
    )


def test_a_failed_pytest_step_is_summed_up_beside_a_failed_linter(tmp_path, capsys, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "outcomes.json").write_text(json.dumps({"counts": {"passed": 2}, "failures": []}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SHOWN_LOG, raising=False)

    main([str(logs), "flake8", "pytest (fast: not slow)"])

    assert capsys.readouterr().out.splitlines() == [
        "pytest: 2 passed",
        "Fix: edit the lines flake8 lists, then: tools/venv.sh flake8 .",
        "     the causes above, in order; the whole log: logs/pytest.log",
    ]


def test_as_a_command_the_logs_folder_is_not_read_as_a_failed_step_and_it_exits_0(tmp_path):
    """run_tests.sh runs `python -m gate.summary LOGS STEP...` and sets the exit status itself; a logs folder
    named like a step is only a folder."""
    (tmp_path / "pytest-logs").mkdir()
    roots = os.pathsep.join(str(root) for root in repository.IMPORT_ROOTS)

    done = subprocess.run(
        [sys.executable, "-m", "gate.summary", "pytest-logs", "flake8"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": roots},
        capture_output=True,
        text=True,
    )

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["Fix: edit the lines flake8 lists, then: tools/venv.sh flake8 ."]


SUITE_OF_RANKS = """
import pytest

from gate import inventory  # the plugin names the DAGs of the inventory when it is imported


@pytest.mark.dag_gate(rank=0)
@pytest.mark.parametrize("dag_file", ["redshift__01_create_tables.py"])
def test_loads(dag_file):
    assert False, "the file does not import"


@pytest.mark.dag_gate
@pytest.mark.parametrize("dag_id", ["redshift__02_initial_load"])
def test_rule(dag_id):
    pytest.fail("tags: DAG redshift__03_incremental_load too")


def test_other():
    pass
"""


def test_a_failure_carries_its_rank_and_the_dags_of_its_parameters_and_message(tmp_path):
    (tmp_path / "test_ranks.py").write_text(SUITE_OF_RANKS)

    record = run_plugin(tmp_path, "test_ranks.py")

    assert record["counts"] == {"passed": 1, "failed": 2, "errors": 0, "skipped": 0}
    assert [
        (f["nodeid"].split("::")[1], f["rank"], f["subjects"], f["message"]) for f in record["failures"]
    ] == [
        (
            "test_loads[redshift__01_create_tables.py]",
            0,
            ["redshift__01_create_tables"],
            "the file does not import\nassert False",
        ),
        (
            "test_rule[redshift__02_initial_load]",
            1,
            ["redshift__02_initial_load", "redshift__03_incremental_load"],
            "tags: DAG redshift__03_incremental_load too",
        ),
    ]


def test_a_failure_without_a_traceback_keeps_its_text(tmp_path):
    """A strict xfail that passes fails with a text, not an exception: the summary still shows it."""
    (tmp_path / "test_xpass.py").write_text(
        "import pytest\n\n\n@pytest.mark.xfail(strict=True, reason='the fix has landed')\n"
        "def test_known_bug():\n    pass\n"
    )

    record = run_plugin(tmp_path, "test_xpass.py")

    assert [(f["nodeid"], f["message"]) for f in record["failures"]] == [
        ("test_xpass.py::test_known_bug", "[XPASS(strict)] the fix has landed")
    ]


def test_the_known_names_include_the_files_and_the_files_that_do_not_import(tmp_path, monkeypatch):
    from gate import loader
    from gate.summary import _known_names

    (tmp_path / "gamma_file.py").write_text(
        "from airflow.sdk import DAG\n\nwith DAG(dag_id='gamma', schedule=None):\n    pass\n"
    )
    (tmp_path / "broken_file.py").write_text("from airflow.sdk import DAG\n\nraise ValueError('dag')\n")
    monkeypatch.setitem(loader._LOADED, tmp_path, loader.load(tmp_path))

    assert {"gamma", "gamma_file", "broken_file"} <= _known_names()


def test_without_an_outcomes_file_named_the_plugin_records_nothing(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_passes():\n    pass\n")
    roots = os.pathsep.join(str(root) for root in repository.IMPORT_ROOTS)
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_GATE_OUTCOMES"}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "gate.summary", "-p", "no:cacheprovider", "test_one.py"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": roots},
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == ["test_one.py"]


def test_each_cause_is_under_its_section_files_that_do_not_import_first():
    failures = [
        failure("tests/other.py::test_x", "AssertionError: 1 == 2"),
        failure("tests/dags/policy.py::test[a-tags]", "tags: DAG 'a'", 1, ["a"]),
        failure("tests/dags/load.py::test_loads[b.py]", "import: dags/b.py does not load", 0, ["b"]),
        failure("tests/x.py", "ModuleNotFoundError: x", COLLECTION_RANK, kind="collection"),
    ]

    assert diagnosis({"failures": [asdict(f) for f in failures]}) == [
        "DAG files that do not import:",
        "  import: dags/b.py does not load",
        "DAG rules:",
        "  tags: DAG 'a'",
        "Other failures:",
        "  ERROR tests/x.py - ModuleNotFoundError: x",
        "  FAILED tests/other.py::test_x - AssertionError: 1 == 2",
    ]


def test_a_file_outside_the_repository_is_named_by_its_own_path(tmp_path):
    root, outside = tmp_path / "repo", tmp_path / "elsewhere" / "x.py"
    root.mkdir()
    (tmp_path / "black.log").write_text(f"would reformat {outside}\n")

    assert step_problems(tmp_path, ["black --check"], root) == (
        [f"black: would reformat {outside}"],
        [f"tools/venv.sh black {outside}"],
    )


def test_a_module_with_a_syntax_error_is_recorded_with_the_last_line_pytest_raised(tmp_path):
    """pytest shows the offending source above the exception: the cause is the exception's own line."""
    (tmp_path / "test_syntax.py").write_text("def broken(:\n    pass\n")

    record = run_plugin(tmp_path, "--continue-on-collection-errors")

    assert [(f["nodeid"], f["message"]) for f in record["failures"]][0] == (
        "test_syntax.py",
        "SyntaxError: invalid syntax",
    )


def test_a_test_whose_setup_fails_is_one_error(tmp_path):
    (tmp_path / "test_setup.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('no database')\n\n\n"
        "def test_needs_it(broken):\n    pass\n"
    )

    record = run_plugin(tmp_path, "test_setup.py")

    assert record["counts"] == {"passed": 0, "failed": 0, "errors": 1, "skipped": 0}
    assert [(f["nodeid"], f["kind"], f["message"]) for f in record["failures"]] == [
        ("test_setup.py::test_needs_it", "error", "RuntimeError: no database")
    ]
