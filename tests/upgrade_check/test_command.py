"""./run_tests.sh --upgrade-check: which version, what it runs, and that it never stamps the tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import constraints
import repository
from upgrade_check import __main__ as check, venv

RUN_TESTS = repository.ROOT / "run_tests.sh"


def test_an_unknown_version_exits_2_naming_the_known_ones_and_builds_nothing(tmp_path):
    done = subprocess.run([str(RUN_TESTS), "--upgrade-check", "9.9.9"], capture_output=True, text=True)

    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: no constraints for MWAA 9.9.9 under requirements/next/")
    assert f"known: {', '.join(constraints.next_versions())}" in first
    assert f"Fix: ./run_tests.sh --upgrade-check {constraints.next_versions()[-1]}" in first
    assert not (repository.BUILD / "upgrade-check" / "9.9.9").exists()


def test_the_suite_runs_whole_with_deprecations_recorded_and_without_the_gate_stamp_plugin(tmp_path):
    command = check.pytest_command(Path("/venv/bin/python"), tmp_path)

    assert command[:3] == ["/venv/bin/python", "-m", "pytest"]
    assert "deploy.selection" not in command and "gate.summary" not in command
    assert ["-p", "upgrade_check.plugin"] == command[command.index("upgrade_check.plugin") - 1 :][:2]
    assert not [
        arg for arg in command[3:] if arg in ("-k", "-m") or arg.startswith("tests")
    ]  # the whole suite


def test_the_run_environment_drops_what_makes_a_run_count_for_the_deploy(tmp_path, monkeypatch):
    for name in check.GATE_ENV:
        monkeypatch.setenv(name, "set by ./run_tests.sh")

    env = check.run_env(tmp_path / "venv" / "bin", tmp_path / "warnings")

    assert not [name for name in check.GATE_ENV if name in env]
    assert env["LAKEHOUSE_VENV"] == str(tmp_path / "venv")  # ./run_local.sh, nested gates: never .venv
    assert env["PATH"].startswith(f"{tmp_path / 'venv' / 'bin'}:")
    assert env["LAKEHOUSE_UPGRADE_WARNINGS"] == str(tmp_path / "warnings")


def test_nothing_in_the_upgrade_check_writes_the_gate_stamp():
    sources = "".join(path.read_text() for path in (repository.TOOLS / "upgrade_check").glob("*.py"))
    assert "deploy.stamp" not in sources and "passed-tree" not in sources


@pytest.fixture
def copied_repository(tmp_path, monkeypatch):
    """The inputs of the venv in a copy of the repository, which the venv module then reads."""
    root = tmp_path / "repo"
    shutil.copytree(repository.REQUIREMENTS, root / "requirements")
    (root / "tools").mkdir()
    shutil.copy2(repository.TOOLS / "constraints.py", root / "tools" / "constraints.py")
    (root / "requirements" / "next" / "9.0.0").mkdir()
    (root / "requirements" / "next" / "9.0.0" / "airflow_constraints.txt").write_text("x==1\n")
    monkeypatch.setattr(repository, "ROOT", root)
    monkeypatch.setattr(repository, "REQUIREMENTS", root / "requirements")
    monkeypatch.setattr(repository, "TOOLS", root / "tools")
    monkeypatch.setattr(constraints, "NEXT", root / "requirements" / "next")
    return root


def test_the_venv_is_reused_until_one_of_its_inputs_changes(copied_repository, tmp_path):
    version = constraints.next_versions()[0]
    python = sys.executable
    fake = tmp_path / "venv"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(sys.executable)
    (fake / venv.STAMP).write_text(venv.inputs_hash(version, python) + "\n")

    assert venv.ensure(version, fake, python)[0] is False  # stamp matches: nothing built

    stamp = venv.inputs_hash(version, python)
    (copied_repository / "requirements" / "next" / "9.0.0" / "airflow_constraints.txt").write_text("x==2\n")
    (copied_repository / "README.md").write_text("not an input")
    assert venv.inputs_hash(version, python) == stamp  # another version's folder is not an input
    for changed in (
        f"requirements/next/{version}/airflow_constraints.txt",
        "requirements/dev.txt",
        "requirements/lint.txt",
        "tools/constraints.py",
    ):
        with (copied_repository / changed).open("a") as f:
            f.write("# changed\n")
        assert venv.inputs_hash(version, python) != stamp, changed
        stamp = venv.inputs_hash(version, python)


def test_tools_venv_sh_finds_the_upgrade_venv_current_and_never_reinstalls_today_s_pins_into_it(tmp_path):
    # The hook tests run ./run_tests.sh with LAKEHOUSE_VENV set to the venv running them: in the upgrade
    # check, this venv. With a stale stamp tools/venv.sh would install today's pins into it mid-run.
    fake = tmp_path / "venv"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(sys.executable)

    venv.mark_current_for_venv_sh(fake)

    done = subprocess.run(
        [
            "bash",
            "-c",
            'source "$0/tools/venv.sh"; requirements_hash "$1"',
            repository.ROOT,
            fake / "bin" / "python",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (fake / venv.VENV_SH_STAMP).read_text() == done.stdout != ""
