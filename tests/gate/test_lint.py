"""tools/gate/lint.py: flake8 and black, run as the gate runs them, on real files; a pass is remembered by
path and content, in any checkout, and nothing else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import repository

CLEAN = 'VALUE = "clean"\n'
UNUSED_IMPORT = "import os\n"
BADLY_FORMATTED = "VALUE = 'x'\n"  # black wants double quotes; flake8 passes it
SAME_SIZE_UNUSED = "import os  # ab\n"


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    (root / "dags").mkdir(parents=True)
    shutil.copy(repository.ROOT / ".flake8", root / ".flake8")
    shutil.copy(repository.ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "dags/first.py").write_text(CLEAN)
    (root / "dags/second.py").write_text(CLEAN)
    return root


def lint(root: Path, tmp_path: Path, tool: str, *args: str, paths=(".",)) -> subprocess.CompletedProcess:
    """`python -m gate.lint TOOL ARGS .` in `root`, with its record under tmp_path and black's own cache
    fresh each run (so only the record can skip a file)."""
    black_cache = tmp_path / "black-cache" / str(len(list(tmp_path.glob("black-cache/*"))))
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "BLACK_CACHE_DIR": str(black_cache),
        "PYTHONPATH": os.pathsep.join(map(str, repository.IMPORT_ROOTS)),
    }
    return subprocess.run(
        [sys.executable, "-m", "gate.lint", tool, *args, *paths],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )


def flake8_files(done: subprocess.CompletedProcess) -> int:
    """The files flake8 checked, from its --benchmark table."""
    line = next(line for line in done.stdout.splitlines() if line.endswith(" total files processed"))
    return int(line.split()[0])


def black_skipped(done: subprocess.CompletedProcess) -> list[str]:
    return sorted(
        line.split(" wasn't modified")[0].split("/")[-1]
        for line in done.stderr.splitlines()
        if "wasn't modified on disk since last run" in line
    )


def recorded(tmp_path: Path, tool: str) -> int:
    return sum(1 for path in (tmp_path / "xdg/lakehouse-gate/lint" / tool).rglob("*") if path.is_file())


def test_flake8_checks_only_files_it_has_not_passed_and_always_reports_a_failing_one(checkout, tmp_path):
    (checkout / "dags/third.py").write_text(UNUSED_IMPORT)

    first = lint(checkout, tmp_path, "flake8", "--benchmark")
    second = lint(checkout, tmp_path, "flake8", "--benchmark")

    assert first.returncode == second.returncode == 1
    unused = "./dags/third.py:1:1: F401 'os' imported but unused"
    assert first.stdout.startswith(unused) and second.stdout.startswith(unused)
    assert (flake8_files(first), flake8_files(second)) == (3, 1)
    assert recorded(tmp_path, "flake8") == 2


def test_flake8_rechecks_a_same_size_edit_and_the_same_content_at_another_path(checkout, tmp_path):
    assert lint(checkout, tmp_path, "flake8").returncode == 0
    assert len(SAME_SIZE_UNUSED) == len(CLEAN)
    (checkout / "dags/first.py").write_text(SAME_SIZE_UNUSED)
    os.utime(checkout / "dags/first.py", (0, 0))
    (checkout / "dags/moved.py").write_text(CLEAN)

    done = lint(checkout, tmp_path, "flake8", "--benchmark")

    assert done.returncode == 1
    assert done.stdout.startswith("./dags/first.py:1:1: F401 'os' imported but unused")
    assert flake8_files(done) == 2  # first.py and moved.py; second.py passed before


def test_flake8_rechecks_every_file_when_an_option_that_judges_files_changes(checkout, tmp_path):
    (checkout / "dags/first.py").write_text('VALUE = "' + "x" * 80 + '"\n')
    assert lint(checkout, tmp_path, "flake8").returncode == 0
    (checkout / ".flake8").write_text((checkout / ".flake8").read_text().replace("110", "79"))

    done = lint(checkout, tmp_path, "flake8", "--benchmark")

    assert done.returncode == 1
    assert "./dags/first.py:1:80: E501 line too long (90 > 79 characters)" in done.stdout
    assert flake8_files(done) == 2


def test_flake8_keeps_its_excludes(checkout, tmp_path):
    (checkout / "build").mkdir()
    (checkout / "build/generated.py").write_text(UNUSED_IMPORT)

    assert lint(checkout, tmp_path, "flake8").returncode == 0
    assert recorded(tmp_path, "flake8") == 2


def test_black_checks_only_files_it_has_not_passed_and_always_reports_a_failing_one(checkout, tmp_path):
    (checkout / "dags/third.py").write_text(BADLY_FORMATTED)

    first = lint(checkout, tmp_path, "black", "--check", "-v")
    second = lint(checkout, tmp_path, "black", "--check", "-v")

    assert first.returncode == second.returncode == 1
    for done in (first, second):
        assert "would reformat " in done.stderr and "dags/third.py" in done.stderr
        assert "1 file would be reformatted, 2 files would be left unchanged." in done.stderr
    assert (black_skipped(first), black_skipped(second)) == ([], ["first.py", "second.py"])
    assert recorded(tmp_path, "black") == 2


def test_black_rechecks_a_same_size_edit_and_a_changed_line_length(checkout, tmp_path):
    assert lint(checkout, tmp_path, "black", "--check").returncode == 0
    edit = "VALUE = 'clean'\n"
    assert len(edit) == len(CLEAN)
    (checkout / "dags/first.py").write_text(edit)

    edited = lint(checkout, tmp_path, "black", "--check", "-v")

    assert edited.returncode == 1 and "dags/first.py" in edited.stderr
    assert black_skipped(edited) == ["second.py"]

    (checkout / "dags/first.py").write_text(CLEAN)
    (checkout / "pyproject.toml").write_text((checkout / "pyproject.toml").read_text().replace("110", "100"))
    changed_mode = lint(checkout, tmp_path, "black", "--check", "-v")

    assert changed_mode.returncode == 0
    assert black_skipped(changed_mode) == []


def test_a_pass_is_shared_with_another_checkout_of_the_same_files(checkout, tmp_path):
    assert lint(checkout, tmp_path, "black", "--check").returncode == 0
    assert lint(checkout, tmp_path, "flake8").returncode == 0
    other = tmp_path / "other"
    shutil.copytree(checkout, other)

    assert black_skipped(lint(other, tmp_path, "black", "--check", "-v")) == ["first.py", "second.py"]
    assert flake8_files(lint(other, tmp_path, "flake8", "--benchmark")) == 0


def test_one_file_named_is_checked_alone_and_skipped_once_passed(checkout, tmp_path):
    (checkout / "dags/first.py").write_text(BADLY_FORMATTED)
    failed = lint(checkout, tmp_path, "black", "--check", "-v", paths=("dags/first.py",))
    (checkout / "dags/first.py").write_text(CLEAN)
    passed = lint(checkout, tmp_path, "black", "--check", "-v", paths=("dags/first.py",))
    again = lint(checkout, tmp_path, "black", "--check", "-v", paths=("dags/first.py",))

    assert failed.returncode == 1 and "would reformat dags/first.py" in failed.stderr
    assert (passed.returncode, black_skipped(passed)) == (0, [])
    assert (again.returncode, black_skipped(again)) == (0, ["first.py"])
    assert "1 file would be left unchanged." in again.stderr


def test_an_unknown_tool_is_refused_with_the_usage(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "gate.lint", "ruff"],
        env={**os.environ, "PYTHONPATH": str(repository.TOOLS)},
        capture_output=True,
        text=True,
    )

    assert (done.returncode, done.stderr) == (2, "usage: python -m gate.lint {flake8|black} ARGS...\n")
