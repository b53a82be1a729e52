"""A throwaway Airflow home for parsing: no examples, no metadata DB, the repo's plugins on sys.path."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def prepare(dags_folder: Path | None = None) -> Path:
    """Point Airflow at a temporary home before it is imported; returns the DAG folder to check.

    GATE_DAGS_FOLDER overrides the folder (e.g. to check a built bundle's dags/).
    """
    folder = Path(dags_folder or os.environ.get("GATE_DAGS_FOLDER") or REPO_ROOT / "dags").resolve()
    home = os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(folder))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO_ROOT / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    plugins = str(REPO_ROOT / "plugins")
    if plugins not in sys.path:
        sys.path.insert(0, plugins)
    return folder
