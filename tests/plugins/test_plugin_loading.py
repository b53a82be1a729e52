"""plugins/ as MWAA loads it: plugins.zip unpacked into the plugins folder, scanned by the plugin manager.

Airflow imports every `.py` of the plugins folder that .airflowignore does not exclude as a top-level module
named after the file (airflow/plugins_manager.py, load_plugins_from_plugin_directory): without
plugins/.airflowignore `lakehouse/hudi.py` is imported a second time as `hudi`, shadowing any module of that
name.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from airflow.utils.file import find_path_from_directory

import repository
from deploy import bundle

PLUGIN_SCAN = """
import json, sys
from pathlib import Path
sys.path.append(sys.argv[2])  # tools/, for compat only: it holds no plugin module
from compat import airflow as airflow_compat
import_errors = airflow_compat.load_plugins_folder()
folder = Path(sys.argv[1]).resolve()
loaded = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and Path(module.__file__).resolve().is_relative_to(folder)
)
import lakehouse.hudi
print(json.dumps({
    "loaded": loaded,
    "import_errors": import_errors,
    "hudi_from": str(Path(lakehouse.hudi.__file__).resolve().relative_to(folder)),
}))
"""


@pytest.fixture(scope="module")
def unpacked_plugins(tmp_path_factory, repo_root):
    """plugins.zip of the bundle, unpacked as MWAA unpacks it into its plugins folder."""
    folder = tmp_path_factory.mktemp("plugins")
    zipfile.ZipFile(io.BytesIO(bundle.build(repo_root)[bundle.PLUGINS_KEY].data)).extractall(folder)
    return folder


def test_plugins_zip_ships_the_ignore_file(unpacked_plugins, repo_root):
    shipped = unpacked_plugins / ".airflowignore"
    assert shipped.is_file(), "plugins.zip has no .airflowignore"
    assert shipped.read_bytes() == (repo_root / "plugins" / ".airflowignore").read_bytes()


@pytest.mark.parametrize("syntax", ["glob", "regexp"])  # core.dag_ignore_file_syntax: glob is the default
def test_the_plugin_scan_finds_no_lakehouse_file_in_either_ignore_syntax(unpacked_plugins, syntax):
    assert sorted(p.name for p in (unpacked_plugins / "lakehouse").glob("*.py"))  # there is something to skip
    scanned = [path for path in find_path_from_directory(unpacked_plugins, ".airflowignore", syntax)]
    assert [path for path in scanned if path.endswith(".py")] == []


@pytest.mark.slow  # a fresh interpreter loading Airflow's plugin manager: about 5 s
def test_airflow_imports_no_lakehouse_module_as_a_top_level_module(unpacked_plugins, repo_root):
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(unpacked_plugins)}
    env.pop("PYTHONPATH", None)  # lakehouse must come from the plugins folder, as on MWAA
    scan = subprocess.run(
        [sys.executable, "-c", PLUGIN_SCAN, str(unpacked_plugins), str(repository.TOOLS)],
        env=env,
        cwd=unpacked_plugins.parent,  # not the folder itself: "-c" puts the working directory on sys.path
        capture_output=True,
        text=True,
    )
    assert scan.returncode == 0, scan.stderr[-3000:]
    result = json.loads(scan.stdout.strip().splitlines()[-1])
    assert [name for name in result["loaded"] if not name.startswith("lakehouse")] == [], result
    assert result["import_errors"] == {}
    assert result["hudi_from"] == "lakehouse/hudi.py"
