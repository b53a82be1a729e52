"""The upgrade check's report: failing tests, deprecations grouped with where they were raised, packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import constraints
import repository
from upgrade_check import report
from upgrade_check.plugin import FOLDER

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" tests="3">
<testcase classname="tests.gate.test_loader" name="test_ok" time="0.1"/>
<testcase classname="tests.e2e.test_local_aws" name="test_timeout[x]" time="1">
  <failure message="AssertionError: assert 'ABORTED' == 'STARTED'&#10;  - STARTED">trace</failure>
</testcase>
<testcase classname="tests.dags.test_dags_load" name="" time="0">
  <error message="collection failure">&#10;&#10;ImportError: cannot import name 'DagBag'&#10;second</error>
</testcase>
</testsuite></testsuites>
"""


def test_failures_are_listed_in_order_with_their_first_error_line(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)

    found = report.failures(junit)

    assert [(f.test, f.kind, f.first_line) for f in found] == [
        (
            "tests/e2e/test_local_aws::test_timeout[x]",
            "failed",
            "AssertionError: assert 'ABORTED' == 'STARTED'",
        ),
        ("tests/dags/test_dags_load", "error", "collection failure"),
    ]


def test_a_missing_junit_report_is_a_failure_not_a_pass(tmp_path):
    (only,) = report.failures(tmp_path / "junit.xml")
    assert only.kind == "error" and "is missing" in only.first_line


def record(folder, pid, **fields):
    with open(folder / f"warnings-{pid}.jsonl", "a") as out:
        out.write(json.dumps({"deprecation": True, "nodeid": "t", "when": "runtest", **fields}) + "\n")


def test_deprecations_are_grouped_by_message_our_code_first_with_places(tmp_path):
    own = str(repository.PLUGINS / "lakehouse" / "catalog.py")
    site = "/venv/lib/python3.12/site-packages/airflow/models/dagbag.py"
    glue = "GlueCrawlerOperator is deprecated. Use the Create/Update/Run crawler operators."
    for pid in (1, 2):  # two xdist workers raise the same warning at the same place
        record(
            tmp_path,
            pid,
            category="x.AirflowProviderDeprecationWarning",
            message=glue,
            filename=own,
            lineno=40,
        )
    for line in (10, 10, 12):
        record(
            tmp_path,
            3,
            category="builtins.DeprecationWarning",
            message="old path",
            filename=site,
            lineno=line,
        )
    record(
        tmp_path,
        3,
        category="builtins.UserWarning",
        message="not one",
        filename=own,
        lineno=1,
        deprecation=False,
    )
    with open(tmp_path / "warnings-3.jsonl", "a") as out:
        out.write(
            json.dumps({"deprecation": False, "category": "x", "message": "m", "filename": own, "lineno": 1})
        )

    groups = report.warnings(tmp_path)

    assert [(g.message, g.where, g.own) for g in groups] == [
        (glue, {"plugins/lakehouse/catalog.py:40": 2}, True),
        ("old path", {"airflow/models/dagbag.py:10": 2, "airflow/models/dagbag.py:12": 1}, False),
    ]


def test_the_report_lists_what_must_change_failures_warnings_and_packages(tmp_path):
    own = report.WarningGroup(
        "x.AirflowProviderDeprecationWarning",
        "GlueCrawlerOperator is deprecated",
        {"plugins/lakehouse/catalog.py:40": 3},
    )
    theirs = report.WarningGroup("builtins.DeprecationWarning", "old | path", {"airflow/x.py:1": 1})
    corpus = report.WarningGroup(
        "builtins.UserWarning", "EmptyOperator is deprecated", {"tests/gate/bad_dags/redshift__x.py:3": 1}
    )
    text = report.render(
        version="3.3.1",
        steps=[report.Step("flake8", 0, ""), report.Step("pytest (full suite)", 1, "")],
        packages=[("boto3", "1.39.11", "1.43.56"), ("new-one", None, "1.0")],
        failures=[report.Failure("tests/a::b", "failed", "AssertionError: x | y")],
        warnings=[own, corpus, theirs],
        venv_rebuilt=False,
        venv_seconds=1.0,
        total_seconds=100.0,
    )

    assert text.startswith(f"# Upgrade check: MWAA {constraints.current().version} -> 3.3.1\n")
    assert "Verdict: **red**" in text
    assert "| pytest (full suite) | FAILED (exit 1) |" in text
    must_change = text.split("## What must change at the upgrade")[1].split("##")[0]
    assert "`plugins/lakehouse/catalog.py:40` (3x): GlueCrawlerOperator is deprecated" in must_change
    assert "old" not in must_change and "EmptyOperator" not in must_change  # the harness's: not shipped
    assert "EmptyOperator is deprecated" in text.split("## Deprecation warnings")[1]
    assert "| `tests/a::b` | failed | AssertionError: x \\| y |" in text
    assert "**builtins.DeprecationWarning**: old \\| path" in text
    assert "| boto3 | 1.39.11 | 1.43.56 |" in text and "| new-one | (not pinned) | 1.0 |" in text


def test_package_changes_name_every_installed_version_that_differs_from_today_s_pin():
    from importlib import metadata

    changes = report.package_changes(sys.executable)
    today = {
        **constraints.pins(constraints.current().airflow),
        **constraints.pins(constraints.current().essential),
    }
    installed = {constraints.canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    lint = set(constraints.pins(constraints.LINT))
    # This venv's own view, on today's version (only what today's constraints do not pin differs) as on the
    # next one in the upgrade check: every difference, in name order, with today's pin and the installed one.
    assert changes == [
        (name, today.get(name), version)
        for name, version in sorted(installed.items())
        if today.get(name) != version and name not in lint
    ]
    assert changes and not lint & {name for name, _, _ in changes}


def run_with_the_plugin(tmp_path, test_source: str) -> tuple[Path, list[dict]]:
    """`test_source` as a test file run by pytest with the upgrade check's plugin: (the file, its records)."""
    tests = tmp_path / "test_warns.py"
    tests.write_text(textwrap.dedent(test_source))
    folder = tmp_path / "warnings"
    folder.mkdir()
    env = {
        **os.environ,
        FOLDER: str(folder),
        "PYTHONPATH": os.pathsep.join(map(str, repository.IMPORT_ROOTS)),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "upgrade_check.plugin",
            "-p",
            "no:cacheprovider",
            str(tests),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tests, [
        json.loads(line) for path in folder.glob("*.jsonl") for line in path.read_text().splitlines()
    ]


def test_the_plugin_records_each_warning_of_a_test_run(tmp_path):
    tests, records = run_with_the_plugin(
        tmp_path,
        """
            import warnings

            def test_warns():
                warnings.warn("use the new crawler operators", DeprecationWarning)
                warnings.warn("just so you know", UserWarning)
            """,
    )

    assert [(r["message"], r["deprecation"], r["lineno"]) for r in records] == [
        ("use the new crawler operators", True, 5),
        ("just so you know", False, 6),
    ]
    assert {r["filename"] for r in records} == {str(tests)}


def test_a_test_that_imports_airflow_first_still_reports_its_warnings(tmp_path):
    # Importing Airflow replaces warnings.showwarning: inside a test's capture, the plugins' deprecated
    # imports (raised once, at their first import, which imports Airflow) would go to its log, not the report.
    _, records = run_with_the_plugin(
        tmp_path,
        """
            import warnings

            def test_imports_airflow_then_warns():
                import airflow.settings  # noqa: F401

                warnings.warn("airflow.exceptions.AirflowFailException is deprecated", DeprecationWarning)
                # How Airflow 3.3's DagBag re-emits a DAG file's warnings: a UserWarning, the message only.
                warnings.warn("GlueCrawlerOperator is deprecated. Use GlueCrawlerRunOperator", UserWarning)
                warnings.warn("Airflow is unused here", UserWarning)
            """,
    )

    assert [(r["message"], r["deprecation"]) for r in records] == [
        ("airflow.exceptions.AirflowFailException is deprecated", True),
        ("GlueCrawlerOperator is deprecated. Use GlueCrawlerRunOperator", True),
        ("Airflow is unused here", False),
    ]
