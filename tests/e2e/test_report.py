"""local_aws.report: task lines in run order, the log redirected, colour only on a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from local_aws import report
from local_aws.report import coloured, run_line, task_lines
from local_aws.run import in_run_order

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def instance(task_id: str, state: str | None, started: datetime | None, seconds: float | None):
    return SimpleNamespace(task_id=task_id, state=state, start_date=started, duration=seconds)


def test_tasks_come_in_run_order_those_that_never_ran_last_in_dag_order():
    dag = SimpleNamespace(task_dict={"a": 1, "b": 2, "c": 3, "d": 4})
    instances = [
        instance("d", "upstream_failed", None, None),
        instance("a", "success", T0 + timedelta(seconds=5), 1.0),
        instance("c", "failed", T0, 2.5),
        instance("b", "upstream_failed", None, None),
    ]
    result = SimpleNamespace(task_runs=in_run_order(dag, instances))

    assert [r.task_id for r in result.task_runs] == ["c", "a", "b", "d"]
    assert task_lines(result, {"c": "Redshift Data: sql/x.sql"}, colour=False) == [
        "  failed            2.5 s  c  Redshift Data: sql/x.sql",
        "  success           1.0 s  a",
        "  upstream_failed     - s  b",
        "  upstream_failed     - s  d",
    ]


def test_colour_only_when_asked():
    assert coloured("failed", 7, colour=False) == "failed "
    assert coloured("failed", 7, colour=True) == "\033[31mfailed \033[0m"
    assert coloured("success", 0, colour=True) == "\033[32msuccess\033[0m"


SCRIPT = """
import os, sys
from pathlib import Path
from local_aws.report import output_to

with output_to(Path(sys.argv[1])) as (out, err):
    print("airflow says a lot")
    os.write(2, b"a subprocess writes to fd 2\\n")
    print("one line for the user", file=out)
    print("an error for the user", file=err)
print("after the run")
"""


def test_everything_but_the_users_lines_goes_to_the_log(tmp_path):
    log = tmp_path / "run.log"
    roots = os.pathsep.join(sys.path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": roots},
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == "one line for the user\nafter the run\n"
    assert done.stderr == "an error for the user\n"
    assert log.read_text() == "airflow says a lot\na subprocess writes to fd 2\n"


def test_the_run_line_counts_one_task_and_more_in_words():
    assert run_line("redshift__01_create_tables", "success", 2.04, 1) == (
        "== redshift__01_create_tables: success in 2.0 s (1 task)"
    )
    assert run_line("redshift__02_initial_load", "failed", 30.0, 33) == (
        "== redshift__02_initial_load: failed in 30.0 s (33 tasks)"
    )


def test_runs_of_one_dag_started_in_the_same_second_each_get_their_own_log(tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 1, 11, 7, 0, tzinfo=tz)

    monkeypatch.setattr(report, "LOGS", tmp_path / "local-runs")
    monkeypatch.setattr(report, "datetime", Frozen)

    logs = [report.log_file("redshift__01_create_tables") for _ in range(3)]

    assert [path.name for path in logs] == [
        "redshift__01_create_tables-20261201T110700.log",
        "redshift__01_create_tables-20261201T110700-2.log",
        "redshift__01_create_tables-20261201T110700-3.log",
    ]
    assert all(path.is_file() and path.read_bytes() == b"" for path in logs)
