"""The preflight of the environment files, against the fixtures of each failure mode (preflight_fixtures/):
requirements resolved offline against the repository's real MWAA constraints, plugins.zip imported in a
fresh interpreter with only the zip added to sys.path, startup.sh run by bash -e under env -i."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.deploy.support import commit_all

from deploy import bundle as bundling
from deploy import cli, preflight, stamp
from deploy.bundle import CONSTRAINTS_KEY, PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY, BundleFile

import repository

FIXTURES = Path(__file__).with_name("preflight_fixtures")
CONSTRAINTS = (repository.REQUIREMENTS / "constraints.txt").read_text()  # MWAA 3.0.6's, as shipped


def requirements_problems(name: str, wheels=()) -> list[str]:
    return preflight.check_requirements((FIXTURES / name).read_text(), CONSTRAINTS, list(wheels))


@pytest.mark.parametrize(
    "fixture, expected",
    [
        (
            "requirements_changes_airflow.txt",
            "requirements.txt:1: apache-airflow==3.1.0: MWAA installs apache-airflow itself",
        ),
        (
            "requirements_conflicts_with_a_pin.txt",
            "requirements.txt:2: boto3==1.40.0: the constraints pin boto3==1.39.11, which ==1.40.0 excludes",
        ),
        (
            "requirements_no_wheel_for_mwaa.txt",
            "requirements.txt:2: unpinned-sdist-only==0.3: "
            "unpinned-sdist-only is not pinned by the constraints",
        ),
        ("requirements_needs_a_build.txt", "a direct URL needs a download and possibly a build"),
        (
            "requirements_other_index.txt",
            "requirements.txt:1: --index-url https://pypi.example.invalid/simple",
        ),
    ],
)
def test_each_requirements_failure_mode_is_refused_naming_the_line(fixture, expected):
    problems = requirements_problems(fixture)

    assert len(problems) == 1 and expected in problems[0], problems


def test_pinned_packages_and_a_fitting_wheel_in_plugins_pass():
    assert (
        requirements_problems("requirements_good.txt", ["wheels/mwaa_only_helper-1.2-py3-none-any.whl"]) == []
    )


@pytest.mark.parametrize(
    "wheel",
    [
        "mwaa_only_helper-1.2-cp311-cp311-manylinux2014_x86_64.whl",  # another Python
        "mwaa_only_helper-1.2-cp312-cp312-macosx_11_0_arm64.whl",  # another platform
        "mwaa_only_helper-1.2-cp312-cp312-manylinux2014_aarch64.whl",  # another architecture
        "mwaa_only_helper-1.1-py3-none-any.whl",  # another version
    ],
)
def test_a_wheel_that_does_not_fit_mwaa_is_no_wheel(wheel):
    problems = requirements_problems("requirements_good.txt", [wheel])

    assert len(problems) == 1 and "mwaa-only-helper is not pinned by the constraints" in problems[0]


def test_a_fitting_wheel_without_find_links_is_not_found_by_pip():
    text = "--constraint /usr/local/airflow/dags/constraints.txt\nmwaa-only-helper==1.2\n"

    problems = preflight.check_requirements(text, CONSTRAINTS, ["mwaa_only_helper-1.2-py3-none-any.whl"])

    assert len(problems) == 1 and "--find-links" in problems[0]


def test_without_a_local_constraints_file_nothing_unpinned_passes():
    assert len(preflight.check_requirements("rich\n", None, [])) == 1


def plugins_zip(files: dict[str, str]) -> bytes:
    return bundling.plugins_zip({name: text.encode() for name, text in files.items()})


def test_plugins_that_import_only_from_the_zip_and_the_image_pass():
    data = plugins_zip({"lakehouse/__init__.py": "import json\nimport airflow\n", "helpers.py": "X = 1\n"})

    assert preflight.check_plugins(data) == []


def test_a_plugin_that_needs_the_repository_on_sys_path_is_refused():
    """Locally tools/ is on sys.path (tools/venv.sh); on MWAA only the zip is."""
    data = plugins_zip({"lakehouse/__init__.py": "import repository\n", "ok.py": "X = 1\n"})

    assert preflight.check_plugins(data) == [
        "plugins.zip: import lakehouse fails with zip-only sys.path: "
        "ModuleNotFoundError: No module named 'repository'"
    ]


def test_a_plugin_that_fails_at_import_is_refused_with_its_error():
    data = plugins_zip({"broken.py": "raise RuntimeError('needs a Variable at import')\n"})

    assert preflight.check_plugins(data) == [
        "plugins.zip: import broken fails with zip-only sys.path: RuntimeError: needs a Variable at import"
    ]


@pytest.mark.parametrize(
    "fixture, expected",
    [
        (
            "startup_fails.sh",
            "startup.sh: exited 1 under bash -e (MWAA_AIRFLOW_COMPONENT=scheduler) at: false",
        ),
        (
            "startup_needs_the_callers_environment.sh",
            "startup.sh: exited 1 under bash -e (MWAA_AIRFLOW_COMPONENT=scheduler) at: test -n ''",
        ),
        (
            "startup_fails_on_workers.sh",
            "startup.sh: exited 4 under bash -e (MWAA_AIRFLOW_COMPONENT=worker) at: exit 4",
        ),
    ],
)
def test_each_startup_failure_mode_is_refused(fixture, expected, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "the-developers")  # set here, but MWAA's shell has no such variable

    problems = preflight.check_startup((FIXTURES / fixture).read_bytes())

    assert problems == [expected]


def test_a_startup_script_that_hangs_is_refused_at_the_time_limit(monkeypatch):
    monkeypatch.setattr(preflight, "STARTUP_SECONDS", 1)

    assert preflight.check_startup((FIXTURES / "startup_hangs.sh").read_bytes()) == [
        "startup.sh: still running after 1 s (MWAA_AIRFLOW_COMPONENT=scheduler)"
    ]


def test_a_good_startup_script_passes_on_every_component():
    assert preflight.check_startup((FIXTURES / "startup_good.sh").read_bytes()) == []


def test_only_the_changed_environment_files_are_checked():
    bundle = {
        REQUIREMENTS_KEY: BundleFile(REQUIREMENTS_KEY, b"apache-airflow\n"),
        STARTUP_KEY: BundleFile(STARTUP_KEY, (FIXTURES / "startup_good.sh").read_bytes()),
        PLUGINS_KEY: BundleFile(PLUGINS_KEY, plugins_zip({"ok.py": "X = 1\n"})),
    }

    preflight.check(bundle, [STARTUP_KEY])  # requirements.txt did not change: not read
    with pytest.raises(preflight.PreflightError, match="apache-airflow"):
        preflight.check(bundle, [REQUIREMENTS_KEY])


def sync_committed(project, s3, bucket) -> int:
    """The sync's exit code for the project's changes, committed and stamped green, to an S3 bucket."""
    commit_all(project)
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return cli.main(
        ["--repo", str(project), "--skip-gate-run", "--target", f"s3://{bucket}"],
        s3_client=s3.client,
        out=io.StringIO(),
    )


def test_a_sync_with_a_failing_startup_script_is_refused_before_anything_is_uploaded(
    project, s3, bucket, capsys
):
    (project / "startup.sh").write_bytes((FIXTURES / "startup_fails.sh").read_bytes())

    code = sync_committed(project, s3, bucket)

    assert code == cli.REFUSED
    error = capsys.readouterr().err
    assert (
        "refused: the environment files would fail the MWAA environment update; nothing was uploaded" in error
    )
    assert "startup.sh: exited 1 under bash -e (MWAA_AIRFLOW_COMPONENT=scheduler) at: false" in error
    assert "Fix:" in error
    assert s3.put_keys == [".sync_dags.lock"]  # the lock only: no file went up


def test_the_repository_environment_files_pass_the_preflight():
    """The fast path: ./run_tests.sh --fast fails as soon as requirements, plugins/ or startup.sh would."""
    built = bundling.build(repository.ROOT)

    preflight.check(built, [key for key in (REQUIREMENTS_KEY, PLUGINS_KEY, STARTUP_KEY) if key in built])


def test_a_fitting_wheel_with_a_build_tag_is_a_wheel():
    wheel = "wheels/mwaa_only_helper-1.2-1-py3-none-any.whl"  # name-version-build-python-abi-platform

    assert requirements_problems("requirements_good.txt", [wheel]) == []


def test_a_plugin_import_that_hangs_is_refused_at_the_time_limit(monkeypatch):
    monkeypatch.setattr(preflight, "IMPORT_SECONDS", 1)
    data = plugins_zip({"waits.py": "import time\ntime.sleep(60)\n", "ok.py": "X = 1\n"})

    assert preflight.check_plugins(data) == ["plugins.zip: importing ok, waits took over 1 s"]


def test_an_interpreter_that_dies_importing_a_plugin_is_refused_with_the_end_of_its_error():
    dies = "import os, sys\nsys.stderr.write('A' * 100 + 'B' * 300)\nsys.stderr.flush()\nos._exit(3)\n"

    assert preflight.check_plugins(plugins_zip({"dies.py": dies})) == [
        "plugins.zip: the import exited 3: " + "B" * 300
    ]


def test_the_preflight_command_checks_the_repository_it_is_given(project, capsys):
    assert preflight.main([str(project)]) == 0
    assert capsys.readouterr().out == "preflight: requirements.txt, plugins.zip and startup.sh pass\n"

    (project / "startup.sh").write_bytes((FIXTURES / "startup_fails.sh").read_bytes())
    commit_all(project)

    assert preflight.main([str(project)]) == 3
    error = capsys.readouterr().err
    assert error.startswith("refused: the environment files would fail the MWAA environment update")
    assert "startup.sh: exited 1 under bash -e (MWAA_AIRFLOW_COMPONENT=scheduler) at: false" in error


def test_constraints_are_read_past_comments_extras_and_markers():
    text = (
        "# Airflow 3.0.6 constraints: pip install apache-airflow==3.0.6\n"
        "apache-airflow-providers-amazon[aiobotocore]==9.9.0 ; python_version >= '3.10'  # the provider\n"
        "Rich_Text==13.9.4\n"
    )

    assert preflight.constraints_pins(text) == {
        "apache-airflow-providers-amazon": "9.9.0",
        "rich-text": "13.9.4",
    }


def test_every_line_after_a_comment_or_a_blank_line_is_checked():
    requirements = "# packages the DAGs import beyond MWAA's own\n\nboto3==1.40.0\n"

    assert preflight.check_requirements(requirements, CONSTRAINTS, []) == [
        "requirements.txt:3: boto3==1.40.0: the constraints pin boto3==1.39.11, which ==1.40.0 excludes "
        "(pip refuses the conflict and the update fails)"
    ]


@pytest.mark.parametrize("given", [False, True], ids=["the-current-folder", "a-folder-given-from-elsewhere"])
def test_the_preflight_command_checks_the_current_folder_or_the_one_it_is_given(project, tmp_path, given):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    done = subprocess.run(
        [sys.executable, "-m", "deploy.preflight", *([str(project)] if given else [])],
        cwd=elsewhere if given else project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repository.TOOLS)},
    )

    assert (done.returncode, done.stdout) == (
        0,
        "preflight: requirements.txt, plugins.zip and startup.sh pass\n",
    )


def test_the_preflight_command_given_a_folder_outside_git_says_so_without_a_traceback(tmp_path, capsys):
    assert preflight.main([str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path}: not a git checkout (")
    assert error.endswith("Fix: sync from a clone of the repository.\n")


def test_a_requirement_with_a_comment_after_it_is_read_without_the_comment():
    requirements = "--constraint /usr/local/airflow/dags/constraints.txt\nboto3==1.39.11  # as MWAA pins it\n"

    assert preflight.check_requirements(requirements, CONSTRAINTS, []) == []


def test_an_allowed_option_written_with_an_equals_sign_passes():
    requirements = (
        "--constraint=/usr/local/airflow/dags/constraints.txt\n"
        "--find-links=/usr/local/airflow/plugins\n"
        "mwaa-only-helper==1.2\n"
    )

    assert (
        preflight.check_requirements(requirements, CONSTRAINTS, ["mwaa_only_helper-1.2-py3-none-any.whl"])
        == []
    )


def test_each_line_pip_would_build_or_refuse_is_named_in_file_order():
    requirements = (
        "git+https://git.example.invalid/helpers.git\n"
        "helpers @ https://files.example.invalid/helpers-1.0.tar.gz\n"
        "boto3==1.40.0\n"
    )

    assert preflight.check_requirements(requirements, CONSTRAINTS, []) == [
        "requirements.txt:1: git+https://git.example.invalid/helpers.git: not a package requirement "
        "(a URL, path or VCS link needs a build)",
        "requirements.txt:2: helpers @ https://files.example.invalid/helpers-1.0.tar.gz: "
        "a direct URL needs a download and possibly a build",
        "requirements.txt:3: boto3==1.40.0: the constraints pin boto3==1.39.11, which ==1.40.0 excludes "
        "(pip refuses the conflict and the update fails)",
    ]


def test_a_folder_of_data_files_in_plugins_zip_is_not_imported():
    data = plugins_zip({"ok.py": "X = 1\n", "sql-files/report.sql": "select 1\n"})

    assert preflight.check_plugins(data) == []


def test_an_import_error_with_a_tab_in_it_is_reported_whole():
    data = plugins_zip({"broken.py": "raise RuntimeError('no column\\tnamed id')\n"})

    assert preflight.check_plugins(data) == [
        "plugins.zip: import broken fails with zip-only sys.path: RuntimeError: no column\tnamed id"
    ]


def test_each_environment_file_is_checked_only_when_it_changes():
    """A changed requirements.txt is read with the wheels of plugins.zip; plugins.zip is imported and
    startup.sh run only when they change (an unchanged file is what the environment already runs)."""
    bundle = {
        REQUIREMENTS_KEY: BundleFile(REQUIREMENTS_KEY, (FIXTURES / "requirements_good.txt").read_bytes()),
        CONSTRAINTS_KEY: BundleFile(CONSTRAINTS_KEY, CONSTRAINTS.encode()),
        PLUGINS_KEY: BundleFile(
            PLUGINS_KEY,
            plugins_zip(
                {
                    "broken.py": "raise RuntimeError('needs a Variable at import')\n",
                    "wheels/mwaa_only_helper-1.2-py3-none-any.whl": "a wheel\n",
                }
            ),
        ),
        STARTUP_KEY: BundleFile(STARTUP_KEY, (FIXTURES / "startup_fails.sh").read_bytes()),
    }

    preflight.check(bundle, [REQUIREMENTS_KEY])  # the wheel is found; the plugin and the script do not run
    with pytest.raises(preflight.PreflightError) as plugins_changed:
        preflight.check(bundle, [PLUGINS_KEY])
    with pytest.raises(preflight.PreflightError) as startup_changed:
        preflight.check(bundle, [STARTUP_KEY])

    # The message: what failed, one line per problem, the fix.
    assert str(plugins_changed.value).splitlines()[1:-1] == [
        "  plugins.zip: import broken fails with zip-only sys.path: RuntimeError: needs a Variable at import"
    ]
    assert str(startup_changed.value).splitlines()[1:-1] == [
        "  startup.sh: exited 1 under bash -e (MWAA_AIRFLOW_COMPONENT=scheduler) at: false"
    ]


def test_the_preflight_command_given_two_folders_says_it_takes_one(project, capsys):
    assert preflight.main([str(project), str(project)]) == 2
    assert capsys.readouterr().err == (
        "error: python -m deploy.preflight takes one folder, the repository (or none: the current folder); "
        "got 2 arguments\n"
    )


@pytest.mark.parametrize("source", ["requirements/requirements.txt", "requirements/constraints.txt"])
def test_an_environment_file_that_is_not_utf8_is_refused_naming_the_file_and_line(
    project, s3, bucket, capsys, source
):
    """pip reads a requirements file as UTF-8 (no BOM or coding line): a Latin-1 byte in a comment fails the
    environment update. The refusal names the file, not a file name (it was "a file name is not valid UTF-8").
    """
    path = project / source
    path.write_bytes(
        (path.read_bytes() if path.exists() else b"boto3==1.39.11\n") + b"# maintained by Jos\xe9\n"
    )
    line = len(path.read_bytes().splitlines())

    code = sync_committed(project, s3, bucket)

    error = capsys.readouterr().err
    assert code == cli.REFUSED, error
    assert (
        f"{source}:{line}: not UTF-8 text (byte 0xe9), and pip reads it as UTF-8. Fix: save the file as UTF-8"
        in error
    )
    assert "file name" not in error
    assert s3.put_keys == [".sync_dags.lock"]
