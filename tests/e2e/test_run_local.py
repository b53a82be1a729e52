"""./run_local.sh: a DAG run against the local AWS, its summary and exit status.

The wrapper runs as a user runs it (its own process, the user's environment) for a successful run and for its
usage; the other exits run the command the wrapper ends with (local_aws.__main__) in this process, seconds
cheaper per case.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import repository

REPO_ROOT = repository.ROOT


def run_local(*args: str) -> subprocess.CompletedProcess:
    # The user's shell: none of the Airflow or AWS settings this test session made.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    return subprocess.run(
        [str(REPO_ROOT / "run_local.sh"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_run_that_succeeds_exits_0_and_summarises_what_reached_aws():
    done = run_local("redshift__01_create_tables", "--manual", "--date", "2024-05-01")

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        "== redshift__01_create_tables (manual run with logical date 2024-05-01 00:00: data interval "
        "2024-05-01 00:00 to 2024-05-01 00:00): success in "
    ) in done.stdout
    assert "  success          create_schema_and_tables" in done.stdout
    from sample_data.bucket import redshift_spec

    assert f"Redshift Data API call 1: {1 + len(redshift_spec().tables)} statement(s)" in done.stdout
    assert "SNS alert" not in done.stdout


@pytest.mark.slow
def test_failing_aws_work_exits_1_and_shows_the_alert(capsys):
    from local_aws.__main__ import main

    assert main(["redshift__01_create_tables", "--fail"]) == 1  # its normal trigger: by hand, no date
    output = capsys.readouterr().out
    assert "== redshift__01_create_tables (manual run without a logical date: " in output
    assert "  failed           create_schema_and_tables" in output
    assert "SNS alert: MWAA: redshift__01_create_tables failed" in output


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
