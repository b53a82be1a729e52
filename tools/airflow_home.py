"""A throwaway Airflow home for parsing, for the gate and the local harness: no examples, no metadata DB."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import repository

# What prepare() sets (besides AIRFLOW_HOME): a private home takes none of them from the environment.
SETTINGS = (
    "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__PLUGINS_FOLDER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "AIRFLOW__CORE__UNIT_TEST_MODE",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
)


def _throwaway_home() -> str:
    home = tempfile.mkdtemp(prefix="airflow-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


def private() -> Path:
    """A new Airflow home for this process, whatever the shell set: never the user's own Airflow installation
    or metadata DB. Removed when the process exits; call prepare() next for its settings."""
    os.environ["AIRFLOW_HOME"] = _throwaway_home()
    for name in SETTINGS:
        os.environ.pop(name, None)
    return Path(os.environ["AIRFLOW_HOME"])


def prepare(dags_folder: Path | None = None) -> Path:
    """Point Airflow at a temporary home before it is imported (unless AIRFLOW_HOME names one); returns the
    DAG folder to check.

    GATE_DAGS_FOLDER overrides the folder (e.g. to check a built bundle's dags/).
    """
    folder = Path(dags_folder or os.environ.get("GATE_DAGS_FOLDER") or repository.DAGS).resolve()
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = _throwaway_home()
    home = os.environ["AIRFLOW_HOME"]
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(repository.PLUGINS))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Never Airflow's unit-test mode: it swaps in Airflow's own test configuration, where a cron or timedelta
    # schedule gets a data-interval timetable and DAGs start unpaused. MWAA runs Airflow's defaults (a cron
    # string is a CronTriggerTimetable: its runs have no interval to speak of), and so must the gate.
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    return folder
