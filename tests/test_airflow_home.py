"""The Airflow the gate and the local harness run: Airflow's default configuration, as MWAA runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import repository

READ_CONFIG = """
import airflow_home

airflow_home.prepare()
from airflow.configuration import conf
from airflow.sdk import DAG

with DAG("x", schedule="@daily") as dag:
    pass
print(conf.getboolean("core", "unit_test_mode"), type(dag.timetable).__name__)
"""


def test_a_cron_string_is_a_trigger_timetable_here_as_on_mwaa():
    """Airflow's unit-test configuration makes it a data-interval timetable: a DAG rendering its interval
    would see a day here and nothing on MWAA."""
    from airflow.configuration import conf
    from airflow.sdk import DAG

    with DAG("redshift__example", schedule="@daily") as dag:
        pass

    assert not conf.getboolean("core", "unit_test_mode")
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"


def test_a_shell_in_unit_test_mode_does_not_change_the_configuration_checked(tmp_path):
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "PYTHONPATH": os.pathsep.join(map(str, repository.IMPORT_ROOTS)),
    }

    done = subprocess.run([sys.executable, "-c", READ_CONFIG], env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False CronTriggerTimetable"
