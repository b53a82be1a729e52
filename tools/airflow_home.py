"""A throwaway Airflow home for parsing, for the gate and the local harness: no examples, no metadata DB."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import repository


def prepare(dags_folder: Path | None = None) -> Path:
    """Point Airflow at a temporary home before it is imported; returns the DAG folder to check.

    GATE_DAGS_FOLDER overrides the folder (e.g. to check a built bundle's dags/).
    """
    folder = Path(dags_folder or os.environ.get("GATE_DAGS_FOLDER") or repository.DAGS).resolve()
    home = os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(repository.PLUGINS))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    return folder
