"""A pytest plugin for the upgrade check: every warning a test run raises, one JSON line each.

The upgrade check loads it (`-p upgrade_check.plugin`) and names a folder in LAKEHOUSE_UPGRADE_WARNINGS; each
test process (each pytest-xdist worker; the controller only when it runs the tests itself) appends to its
own file there. The report groups them by message, with where each was raised.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FOLDER = "LAKEHOUSE_UPGRADE_WARNINGS"


def _runs_tests(config) -> bool:
    return hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)


def pytest_warning_recorded(warning_message, when, nodeid, location) -> None:
    folder = os.environ.get(FOLDER)
    config = _CONFIG.get("config")
    if not folder or config is None or not _runs_tests(config):
        return
    category = warning_message.category
    record = {
        "category": f"{category.__module__}.{category.__qualname__}",
        "deprecation": is_deprecation(category, str(warning_message.message)),
        "message": str(warning_message.message),
        "filename": str(warning_message.filename),
        "lineno": warning_message.lineno,
        "nodeid": nodeid,
        "when": when,
    }
    with open(Path(folder) / f"warnings-{os.getpid()}.jsonl", "a") as out:
        out.write(json.dumps(record) + "\n")


def is_deprecation(category: type, message: str) -> bool:
    """A deprecation by its class, or one Airflow 3.3's DagBag re-emitted: it re-raises every warning of a
    DAG file's parse as a UserWarning with the message only (dag_processing/dagbag.py), e.g. the amazon
    provider's "GlueCrawlerOperator is deprecated. Use ..."."""
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        return True
    return category is UserWarning and "deprecated" in message.lower()


_CONFIG: dict = {}


def pytest_configure(config) -> None:
    _CONFIG["config"] = config


def pytest_sessionstart(session) -> None:
    """Import Airflow before the first test: importing it replaces warnings.showwarning (airflow.settings,
    its logging), which inside a test's warning capture sends that test's warnings to the log instead of
    pytest; the first import of the plugins' deprecated imports would never reach the report."""
    if os.environ.get(FOLDER):
        import airflow.settings  # noqa: F401
