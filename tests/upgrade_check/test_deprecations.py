"""The upgrade check's demotion of deprecations: set in the environment, read by tests/conftest.py, so the
gates its suite starts (the hook tests' nested ./run_tests.sh) get it too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import repository
from deploy import REPORT_DEPRECATIONS_ENV

# A deprecation raised in the plugins, as the amazon provider's crawler operator raises it on the next
# version.
PROBE = """import warnings


def test_the_plugins_use_a_deprecated_operator():
    warnings.warn_explicit(
        "use the Create/Update/Run crawler operators",
        DeprecationWarning,
        "plugins/lakehouse/catalog.py",
        18,
        module="lakehouse.catalog",
    )
"""


@pytest.fixture
def project_copy(tmp_path):
    """This checkout's pytest configuration, tests/conftest.py and the import roots it reads, and one test."""
    root = tmp_path / "project"
    skip = shutil.ignore_patterns("__pycache__")
    for folder in ("tools", "plugins"):
        shutil.copytree(repository.ROOT / folder, root / folder, ignore=skip)
    (root / "tests").mkdir()
    shutil.copy2(repository.ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copy2(repository.TESTS / "conftest.py", root / "tests" / "conftest.py")
    (root / "tests" / "test_probe.py").write_text(PROBE)
    return root


def run_pytest(root, **env: str) -> subprocess.CompletedProcess:
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", REPORT_DEPRECATIONS_ENV) and not name.startswith(("PYTEST", "AIRFLOW"))
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-rfE", "tests/test_probe.py"],
        cwd=root,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_deprecation_in_the_plugins_fails_a_run_as_pyproject_says(project_copy):
    done = run_pytest(project_copy)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert "DeprecationWarning: use the Create/Update/Run crawler operators" in done.stdout


def test_with_the_upgrade_check_s_variable_it_is_reported_not_an_error(project_copy):
    done = run_pytest(project_copy, **{REPORT_DEPRECATIONS_ENV: "1"})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 warning" in done.stdout
    assert "DeprecationWarning: use the Create/Update/Run crawler operators" in done.stdout


def test_the_upgrade_check_sets_it_for_its_suite_and_everything_the_suite_starts(tmp_path):
    from upgrade_check import __main__ as check

    env = check.run_env(tmp_path / "bin", tmp_path / "warnings")

    assert env[REPORT_DEPRECATIONS_ENV] == "1"
    assert "-W" not in check.pytest_command(tmp_path / "python", tmp_path)  # one mechanism, not two
