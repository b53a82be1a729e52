"""The bundle: what ships (and what never does), a byte-stable plugins.zip, and a bundle MWAA can load."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

import repository
from deploy import bundle as bundling
from deploy import stamp
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
    assert not [key for key in built if "test" in key or "cache" in key or key.endswith((".cfg", ".json"))]
    assert zipped == ["lakehouse/__init__.py", "lakehouse/paths.py"]


def test_nothing_in_a_tests_folder_or_a_hidden_folder_ships_whatever_its_name_nor_a_hidden_file(project):
    unwanted = [
        "dags/.gitkeep",  # hidden files: only dags/.airflowignore ships
        "sql/redshift/.scratch.sql",
        "dags/tests/helpers.py",
        "dags/.vscode/settings.json",
        "sql/.drafts/users.sql",
        "plugins/lakehouse/tests/fixtures.py",
        "plugins/.idea/workspace.xml",
    ]
    for name in unwanted:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("tracked, and still not for MWAA\n")
    commit_all(project)

    built = bundling.build(project)
    with zipfile.ZipFile(io.BytesIO(built["plugins.zip"].data)) as archive:
        zipped = archive.namelist()

    assert sorted(built) == sorted(
        bundling.build(project, tree=git(project, "rev-parse", "HEAD~1^{tree}").strip())
    )
    assert zipped == ["lakehouse/__init__.py", "lakehouse/paths.py"]


def test_a_dags_sql_folder_would_collide_with_the_shipped_sql(project):
    (project / "dags/sql").mkdir()
    (project / "dags/sql/extra.sql").write_text("select 1;\n")

    with pytest.raises(bundling.BundleError, match="dags/sql/extra.sql: .*Fix: move the file to sql/"):
        bundling.build(project)

    (project / "dags/sql/report.sql").write_text("select 2;\n")
    with pytest.raises(bundling.BundleError) as both:
        bundling.build(project)
    assert str(both.value) == (
        "dags/sql/extra.sql, dags/sql/report.sql: dags/sql/ is where the bundle puts the repository's sql/. "
        "Fix: move these files to sql/ at the repository root."
    )


def test_every_file_name_that_is_not_utf8_is_named_in_order(project):
    """git hands a name in another encoding over as bytes; S3 keys are UTF-8. Every such name is named, in the
    tree's order, with the bytes it cannot read shown as U+FFFD."""
    (project / "dags/ok.sql").write_text("select 1;\n")
    (project / os.fsdecode(b"dags/caf\xe9.sql")).write_text("select 1;\n")
    commit_all(project)
    with pytest.raises(bundling.NameNotUtf8, match="it \\(git mv\\)") as one:
        bundling.build(project)
    assert "'dags/caf\ufffd.sql'. S3 keys" in str(one.value)

    (project / os.fsdecode(b"sql/na\xefve.sql")).write_text("select 1;\n")
    commit_all(project)
    with pytest.raises(bundling.NameNotUtf8) as both:
        bundling.build(project)
    assert str(both.value) == (
        "a file name is not valid UTF-8: 'dags/caf\ufffd.sql', 'sql/na\ufffdve.sql'. S3 keys and MWAA need "
        "UTF-8 names. Fix: rename them (git mv) to a UTF-8 name."
    )


def test_plugins_zip_is_byte_identical_across_checkouts(project, tmp_path):
    clones = []
    for n, mtime in enumerate((1_000_000_000, 1_700_000_000)):
        clone = tmp_path / f"checkout-{n}"
        git(tmp_path, "clone", "-q", str(project), str(clone))
        for path in (clone / "plugins").rglob("*"):
            os.utime(path, (mtime + n, mtime + n))
        os.chmod(clone / "plugins/lakehouse/paths.py", 0o600 if n else 0o755)
        clones.append(clone)

    first, second = (bundling.build(clone)["plugins.zip"].data for clone in clones)

    assert first == second
    (clones[1] / "plugins/lakehouse/paths.py").write_text("SQL = 'sql/'\n")
    assert bundling.build(clones[1])["plugins.zip"].data != first  # content, and only content, changes it


# plugins.zip of PLUGINS as every release so far built it (the same on Python 3.11 and 3.12): a zip that
# differs for the same plugins makes the next sync update the MWAA environment, restarting every worker.
PLUGINS = {"lakehouse/paths.py": b"SQL = 'sql'\n", "lakehouse/__init__.py": b'"""Shared."""\n'}
PLUGINS_ZIP_SHA256 = "44536de08a147326bbb1dbd9de5d2b083fbfee460b468f0494a8636004c905d5"


def test_plugins_zip_keeps_the_bytes_earlier_releases_shipped():
    data = bundling.plugins_zip(PLUGINS)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [
            (info.filename, info.date_time, info.external_attr >> 16, info.create_system, info.compress_type)
            for info in archive.infolist()
        ]
    stored, unix = zipfile.ZIP_STORED, 3
    assert entries == [  # sorted by name, fixed date and mode (-rw-r--r--), uncompressed
        ("lakehouse/__init__.py", (1980, 1, 1, 0, 0, 0), 0o100644, unix, stored),
        ("lakehouse/paths.py", (1980, 1, 1, 0, 0, 0), 0o100644, unix, stored),
    ]
    assert hashlib.sha256(data).hexdigest() == PLUGINS_ZIP_SHA256


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
        env={**os.environ, "PYTHONPATH": str(repository.TOOLS)},  # the gate; lakehouse from plugins.zip
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


OUTSIDE_SECRET = "a file outside the repository\n"


@pytest.mark.parametrize(
    "link, target",
    [
        ("dags/x.txt", "/proc/self/environ"),
        ("dags/passwd.txt", "/etc/passwd"),
        ("dags/hudi/outside.txt", "OUTSIDE"),
        ("plugins/lakehouse/outside.py", "OUTSIDE"),
        ("sql/redshift/passwd.sql", "/etc/passwd"),
        ("requirements/requirements.txt", "/etc/passwd"),
        ("startup.sh", "/etc/passwd"),
        ("dags/hudi", "/etc"),  # a whole folder
    ],
)
def test_a_committed_symlink_is_refused_naming_path_and_target(project, tmp_path, monkeypatch, link, target):
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE_SECRET)
    target = str(outside) if target == "OUTSIDE" else target
    path = project / link
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    commit_all(project, "a link")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-of-the-sync-process")

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project)

    assert f"{link} is a symbolic link to {target}" in str(refused.value)
    assert "Fix: commit the file itself" in str(refused.value)


def test_every_symlink_is_named_in_one_refusal(project):
    (project / "dags/x.txt").symlink_to("/proc/self/environ")
    (project / "plugins/lakehouse/passwd").symlink_to("/etc/passwd")
    commit_all(project, "links")

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project)

    assert "dags/x.txt is a symbolic link to /proc/self/environ" in str(refused.value)
    assert "plugins/lakehouse/passwd is a symbolic link to /etc/passwd" in str(refused.value)


def test_a_symlink_outside_the_shipped_folders_is_no_concern(project):
    (project / "docs").mkdir()
    (project / "docs/passwd").symlink_to("/etc/passwd")
    commit_all(project, "a link beside the bundle")

    assert "plugins.zip" in bundling.build(project)


def test_a_submodule_in_a_shipped_folder_is_refused(project):
    head = git(project, "rev-parse", "HEAD").strip()
    git(project, "update-index", "--add", "--cacheinfo", f"160000,{head},dags/vendored")
    git(project, "commit", "-q", "-m", "a submodule")

    with pytest.raises(bundling.BundleError, match=r"dags/vendored is a git submodule"):
        bundling.build(project, tree=git(project, "rev-parse", "HEAD^{tree}").strip())


KEY_MATERIAL = [
    "dags/deploy.pem",
    "dags/tls/server.key",
    "plugins/lakehouse/id_rsa",
    "plugins/lakehouse/id_ed25519.pub",
    "dags/credentials",
    "dags/.env",
    "dags/prod.env",
    "dags/.env.production",
    "sql/keystore.p12",
    "dags/client.pfx",
    "dags/tests/fixture.pem",  # excluded from the bundle, and still key material in a shipped folder
]


def test_key_material_is_refused_naming_each_file(project):
    for name in KEY_MATERIAL:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("-----BEGIN " + "PRIVATE KEY-----\n")  # no key-shaped literal here
    commit_all(project, "keys")

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project)

    message = str(refused.value)
    assert [name for name in KEY_MATERIAL if f"  {name}:" not in message] == []
    assert "key material" in message and "Fix: git rm --cached" in message


def test_a_file_over_the_size_limit_is_refused_unless_allowed(project):
    limit = bundling.MAX_FILE_BYTES
    (project / "dags/at_limit.bin").write_bytes(b"\0" * limit)
    (project / "dags/one_past.bin").write_bytes(b"\0" * (limit + 1))
    (project / "plugins/lakehouse/big.bin").write_bytes(b"\0" * (limit + 1))
    commit_all(project, "large files")

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project)
    message = str(refused.value)
    assert "dags/one_past.bin" in message and "plugins/lakehouse/big.bin" in message
    assert "dags/at_limit.bin" not in message
    assert "--allow-large-file dags/one_past.bin" in message

    built = bundling.build(project, allow_large=("dags/one_past.bin", "plugins/lakehouse/big.bin"))
    assert built["dags/one_past.bin"].size == limit + 1 and built["dags/at_limit.bin"].size == limit


def test_the_bundle_is_the_given_tree_whatever_the_working_tree_holds(project):
    tree = git(project, "rev-parse", "HEAD^{tree}").strip()
    (project / "dags/redshift__01_first.py").write_text("BROKEN = (\n")
    (project / "plugins/lakehouse/paths.py").unlink()
    (project / "dags/redshift__03_new.py").write_text("NEW = 3\n")

    built = bundling.build(project, tree=tree)

    assert built["dags/redshift__01_first.py"].data == b"FIRST = 1\n"
    assert "dags/redshift__03_new.py" not in built
    with zipfile.ZipFile(io.BytesIO(built["plugins.zip"].data)) as archive:
        assert archive.read("lakehouse/paths.py") == b"SQL = 'sql'\n"


def test_outside_a_git_checkout_nothing_is_bundled(project, tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".git"))

    with pytest.raises(bundling.BundleError, match="not a git checkout"):
        bundling.build(copy)


def test_without_git_the_bundle_error_says_to_install_it(project, tmp_path, monkeypatch):
    tree = git(project, "rev-parse", "HEAD^{tree}").strip()
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH on which no git is found

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project, tree=tree)

    assert str(refused.value).startswith("git cannot run ([Errno 2] No such file or directory: 'git')")
    assert str(refused.value).endswith(". Fix: install git; the bundle is a git tree.")


def test_the_sync_refuses_a_large_file_until_it_is_allowed_by_name(project, tmp_path, capsys):
    from deploy import stamp
    from deploy.cli import FAILED, OK, main

    (project / "dags/model.bin").write_bytes(b"\1" * (bundling.MAX_FILE_BYTES + 1))
    commit_all(project, "a large file")
    assert stamp.write(project, stamp.tree_hash(project), "full")
    sync = ["--skip-gate-run", "--target", str(tmp_path / "bucket"), "--repo", str(project)]

    assert main(sync) == FAILED
    assert "dags/model.bin: 5,242,881 bytes, over the 5 MiB limit" in capsys.readouterr().err
    assert not (tmp_path / "bucket" / "dags").exists()  # nothing shipped (the folder may hold the sync lock)
    assert main([*sync, "--allow-large-file", "dags/model.bin"]) == OK
    assert (tmp_path / "bucket/dags/model.bin").stat().st_size == bundling.MAX_FILE_BYTES + 1


def test_table_specs_ship_beside_the_dags_and_sample_data_never_ships(project):
    """The DAG files read dags/redshift/tables.yaml and dags/hudi/tables.yaml on MWAA; the sample files of
    local runs (tools/sample_data/bucket/) are no part of the bundle."""
    shipped_specs = [f"dags/{spec}" for spec in ("redshift/tables.yaml", "hudi/tables.yaml")]
    for spec in shipped_specs:
        (project / spec).parent.mkdir(parents=True, exist_ok=True)
        (project / spec).write_text((repository.ROOT / spec).read_text())
    sample = project / "tools/sample_data/bucket/raw/tickit/venue/venue_pipe.txt.gz"
    sample.parent.mkdir(parents=True)
    sample.write_bytes(b"not for MWAA")
    commit_all(project)

    built = bundling.build(project)

    for spec in shipped_specs:
        assert built[spec].data == (repository.ROOT / spec).read_bytes()
    assert not [key for key in built if "sample" in key or key.startswith("tools/")]


def test_a_file_name_with_a_tab_ships_under_its_name(project):
    (project / "dags/tab\there.sql").write_text("select 1;\n")
    commit_all(project)

    built = bundling.build(project)

    assert built["dags/tab\there.sql"].data == b"select 1;\n"


def test_plugins_zip_ships_only_when_the_repository_has_a_plugins_folder(project):
    """Without plugins/ there is no plugins.zip to ship; a plugins/ whose files all stay behind (tests) is
    an empty plugins.zip, so that emptying plugins/ reaches MWAA."""
    shutil.rmtree(project / "plugins")

    assert "plugins.zip" not in bundling.build(project)

    (project / "plugins/tests").mkdir(parents=True)
    (project / "plugins/tests/test_paths.py").write_text("def test_nothing():\n    pass\n")
    built = bundling.build(project)

    with zipfile.ZipFile(io.BytesIO(built["plugins.zip"].data)) as archive:
        assert archive.namelist() == []


def test_the_refusals_name_the_tree_by_its_short_hash(project):
    (project / KEY_MATERIAL[0]).parent.mkdir(parents=True, exist_ok=True)
    (project / KEY_MATERIAL[0]).write_text("-----BEGIN " + "PRIVATE KEY-----\n")  # no key-shaped literal here
    tree = stamp.tree_hash(project)

    with pytest.raises(bundling.BundleError) as refused:
        bundling.build(project)
    assert str(refused.value).splitlines()[0] == f"tree {tree[:12]} cannot ship as it is:"

    shutil.rmtree(project / "dags")
    tree = stamp.tree_hash(project)
    with pytest.raises(bundling.BundleError) as no_dags:
        bundling.build(project)
    assert (
        str(no_dags.value)
        == f"{project}: no dags/ folder in tree {tree[:12]}. Fix: run from the repository root."
    )


def test_a_tree_git_does_not_have_names_the_git_command_that_failed(project):
    with pytest.raises(bundling.BundleError) as failed:
        bundling.build(project, tree="0" * 40)

    assert str(failed.value).startswith(f"{project}: git ls-tree failed: fatal: ")
