"""The bundle: what ships (and what never does), a byte-stable plugins.zip, and a bundle MWAA can load."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
import pytest

from deploy import bundle as bundling
from tests.deploy.support import commit_all, git


def test_bundle_is_laid_out_as_the_bucket(project):
    (project / "startup.sh").write_text("#!/bin/sh\nexport MWAA_STARTUP=1\n")

    built = bundling.build(project)

    assert sorted(built) == [
        "dags/.airflowignore",
        "dags/hudi/schemas/artists.avsc",
        "dags/redshift__01_first.py",
        "dags/redshift__02_second.py",
        "dags/sql/redshift/ddl/users.sql",
        "plugins.zip",
        "requirements.txt",
        "startup.sh",
    ]
    assert (
        built["dags/sql/redshift/ddl/users.sql"].data == (project / "sql/redshift/ddl/users.sql").read_bytes()
    )
    assert built["requirements.txt"].data == (project / "requirements/requirements.txt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(built["plugins.zip"].data)) as archive:
        assert archive.namelist() == ["lakehouse/__init__.py", "lakehouse/paths.py"]


def test_tests_caches_and_local_config_never_ship(project):
    (project / ".gitignore").write_text("build/\n__pycache__/\n*.pyc\ndags/local_settings.json\n")
    unwanted = [
        "dags/tests/test_first.py",
        "dags/conftest.py",
        "dags/test_helpers.py",
        "dags/.env",
        "dags/airflow.cfg",
        "plugins/lakehouse/tests/test_paths.py",
    ]
    for name in unwanted:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("tracked, and still not for MWAA\n")
    commit_all(project)  # tracked on purpose: the exclusions hold even for committed files
    for name in [
        "dags/__pycache__/redshift__01_first.cpython-312.pyc",
        "plugins/lakehouse/__pycache__/x.pyc",
    ]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_bytes(b"\x00cache")
    (project / "dags/local_settings.json").write_text('{"password": "local only"}\n')  # git-ignored
    (project / "dags/redshift__03_draft.py").write_text(
        "DRAFT = 3\n"
    )  # untracked, not ignored: the working tree

    built = bundling.build(project)
    with zipfile.ZipFile(io.BytesIO(built["plugins.zip"].data)) as archive:
        zipped = archive.namelist()

    assert "dags/redshift__03_draft.py" in built
    assert not [
        key for key in built if "test" in key or "cache" in key or key.endswith((".env", ".cfg", ".json"))
    ]
    assert zipped == ["lakehouse/__init__.py", "lakehouse/paths.py"]


def test_a_dags_sql_folder_would_collide_with_the_shipped_sql(project):
    (project / "dags/sql").mkdir()
    (project / "dags/sql/extra.sql").write_text("select 1;\n")

    with pytest.raises(bundling.BundleError, match="dags/sql/extra.sql.*move the file to sql/"):
        bundling.build(project)


def test_outside_git_the_same_files_ship(project, tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".git"))

    assert {k: v.data for k, v in bundling.build(copy).items()} == {
        k: v.data for k, v in bundling.build(project).items()
    }


def test_plugins_zip_is_byte_identical_across_checkouts(project, tmp_path):
    clones = []
    for n, mtime in enumerate((1_000_000_000, 1_700_000_000)):
        clone = tmp_path / f"checkout-{n}"
        git(tmp_path, "clone", "-q", str(project), str(clone))
        for path in (clone / "plugins").rglob("*"):
            os.utime(path, (mtime + n, mtime + n))
        os.chmod(clone / "plugins/lakehouse/paths.py", 0o600 if n else 0o755)
        clones.append(clone)

    first, second = (bundling.plugins_zip(clone) for clone in clones)

    assert first == second
    (clones[1] / "plugins/lakehouse/paths.py").write_text("SQL = 'sql/'\n")
    assert bundling.plugins_zip(clones[1]) != first  # content, and only content, changes the bytes


LOAD_BUNDLE = textwrap.dedent(
    """
    import json, os, sys, tempfile
    from pathlib import Path

    bundle = Path(sys.argv[1])
    home = tempfile.mkdtemp(prefix="airflow-home-")
    os.environ.update(
        AIRFLOW_HOME=home,
        AIRFLOW__CORE__DAGS_FOLDER=str(bundle / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=tempfile.mkdtemp(prefix="no-plugins-"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    )
    sys.path.insert(0, str(bundle / "plugins.zip"))  # as MWAA puts plugins on sys.path
    from gate.loader import load

    loaded = load(bundle / "dags")
    import lakehouse

    report = {"lakehouse": lakehouse.__file__, "errors": {k: v for k, v in loaded.bag.import_errors.items()},
              "dags": {}}
    # The DagBag resolves template files as it loads: a field still naming a file was not found.
    sql_texts = {path.read_text() for path in (bundle / "dags" / "sql").rglob("*.sql")}
    for dag_id, dag in loaded.dags.items():
        from_sql_files, unresolved = 0, []
        for task in dag.tasks:
            ext = tuple(task.template_ext)
            for name in task.template_fields:
                value = getattr(task, name, None)
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    if ext and isinstance(item, str) and item.endswith(ext):
                        unresolved.append(f"{task.task_id}.{name}: {item}")
                    from_sql_files += isinstance(item, str) and item in sql_texts
        report["dags"][dag_id] = {
            "searchpath": list(dag.template_searchpath or []), "from_sql_files": from_sql_files,
            "unresolved": unresolved,
        }
    print(json.dumps(report))
    """
)


def test_the_built_bundle_loads_as_on_mwaa(repo_root, loaded, tmp_path):
    """plugins.zip on sys.path, the bundle's dags/ parsed by the gate's loader: every DAG the repository's
    dags/ folder yields loads, and its SQL templates resolve from dags/sql (the path MWAA uses)."""
    bucket = tmp_path / "bucket"
    bundling.write_to(bundling.build(repo_root), bucket)

    done = subprocess.run(
        [sys.executable, "-c", LOAD_BUNDLE, str(bucket)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["lakehouse"].startswith(str(bucket / "plugins.zip"))
    assert report["errors"] == {}
    assert sorted(report["dags"]) == sorted(loaded.dags) and report["dags"]
    sql_folder = str(bucket / "dags" / "sql")
    for dag_id, dag in report["dags"].items():
        assert all(path == sql_folder for path in dag["searchpath"]), dag_id
        assert dag["unresolved"] == [], dag_id
    assert sum(dag["from_sql_files"] for dag in report["dags"].values()) > 0  # templates read from dags/sql
