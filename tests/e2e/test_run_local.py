"""./run_local.sh: a DAG run against the local AWS, its summary and exit status.

The wrapper runs as a user runs it (its own process, the user's environment) for a successful run and for its
usage; the other exits run the command the wrapper ends with (local_aws.__main__) in this process, seconds
cheaper per case.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import repository
from sample_data.bucket import redshift_spec


def run_local(*args: str, **shell: str) -> subprocess.CompletedProcess:
    # The user's shell: none of the Airflow or AWS settings this test session made, plus `shell`.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))} | shell
    return subprocess.run(
        [str(repository.ROOT / "run_local.sh"), *args],
        cwd=repository.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_run_that_succeeds_exits_0_and_summarises_what_reached_aws(tmp_path):
    # A user with an Airflow installation of their own: the run neither reads nor writes it, and leaves
    # nothing behind in the temporary folder.
    own_home, scratch = tmp_path / "my-airflow", tmp_path / "tmp"
    own_home.mkdir()
    scratch.mkdir()
    done = run_local(
        "redshift__01_create_tables",
        "--manual",
        "--date",
        "2024-05-01",
        AIRFLOW_HOME=str(own_home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{own_home}/airflow.db",
        AIRFLOW__CORE__DAGS_FOLDER=str(own_home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="True",
        TMPDIR=str(scratch),
    )

    lines = done.stdout.splitlines()
    log = repository.ROOT / lines[0].removeprefix("full log: ")

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(own_home.iterdir()) == []
    assert list(scratch.iterdir()) == []
    assert lines[0].startswith("full log: build/local-runs/redshift__01_create_tables-") and log.is_file()
    assert lines[1] == (
        "redshift__01_create_tables: manual run with logical date 2024-05-01 00:00: data interval "
        "2024-05-01 00:00 to 2024-05-01 00:00"
    )
    more = 1 + len(redshift_spec().tables) - 3  # the schema and every table of the spec, three named
    assert re.fullmatch(
        r"  success +\d+\.\d s  create_schema_and_tables  Redshift Data: sql/redshift/ddl/schema\.sql, "
        rf"sql/redshift/ddl/users\.sql, sql/redshift/ddl/venue\.sql \+ {more} more",
        lines[2],
    ), lines[2]
    assert lines[3].startswith("== redshift__01_create_tables: success in ")
    assert lines[-1] == lines[0]
    assert len(lines) < 10 and len(set(lines[:-1])) == len(lines) - 1, done.stdout  # no line twice
    assert "\033[" not in done.stdout  # a pipe, not a terminal: no colour
    assert "SNS alert" not in done.stdout
    assert "create_schema_and_tables" in log.read_text()  # Airflow's own output went to the log


@pytest.mark.slow
def test_failing_aws_work_exits_1_and_shows_the_alert(capsys):
    from local_aws.__main__ import main

    assert main(["redshift__01_create_tables", "--fail"]) == 1  # its normal trigger: by hand, no date
    output = capsys.readouterr().out
    assert "redshift__01_create_tables: manual run without a logical date: " in output
    assert re.search(
        r"^  failed +\d+\.\d s  create_schema_and_tables  Redshift Data: sql/", output, re.M
    ), output
    assert "== redshift__01_create_tables: failed in " in output
    assert "SNS alert: MWAA: redshift__01_create_tables failed" in output


@pytest.mark.slow
def test_a_failed_task_shows_the_first_line_of_its_error_under_its_line():
    """The cause is on the terminal, not only in the log file; a task that did not fail has no such line."""
    done = run_local("redshift__02_initial_load", "--fail")

    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    tasks = lines[2 : next(n for n, line in enumerate(lines) if line.startswith("== "))]
    failed = [n for n, line in enumerate(tasks) if line.startswith("  failed ")]
    errors = [n for n, line in enumerate(tasks) if line.startswith("      ")]
    assert failed and errors == [n + 1 for n in failed], done.stdout
    for n in errors:
        error = tasks[n]
        assert re.fullmatch(r"      Statement \S+ terminated with status FAILED\. .{1,160}", error), error


def test_without_a_dag_id_it_exits_2_with_the_usage_and_the_dags():
    done = run_local()

    assert done.returncode == 2
    assert "./run_local.sh DAG_ID [--date YYYY-MM-DD] [--manual] [--fail]" in done.stdout
    assert "./run_local.sh --all [--fail]" in done.stdout
    assert "redshift__01_create_tables" in done.stdout


def test_an_unknown_dag_id_exits_2_naming_the_fix(capsys):
    # In process: the wrapper's part is the same as above, and a wrong id is refused before the local AWS
    # starts (local_aws.__main__), so nothing else of the session is touched.
    from local_aws.__main__ import main

    assert main(["redshift__99_missing"]) == 2
    error = capsys.readouterr().err
    assert "error: no DAG 'redshift__99_missing'" in error
    assert "Fix: pass a dag_id listed in tools/gate/inventory.json." in error


def test_a_misspelt_dag_id_suggests_the_closest_in_one_line(capsys):
    from local_aws.__main__ import main

    assert main(["redshift__01_create_table"]) == 2
    assert capsys.readouterr().err == (
        "error: no DAG 'redshift__01_create_table' in dags/; did you mean 'redshift__01_create_tables'? "
        "Fix: ./run_local.sh redshift__01_create_tables\n"
    )
