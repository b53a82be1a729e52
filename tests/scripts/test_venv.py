"""tools/venv.sh: which Python builds .venv (laptops have theirs from Homebrew, pyenv or uv), what it says
when there is none, and when it reinstalls. Runs the script with the bash on PATH and real interpreters."""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import repository

VENV_SCRIPT = repository.TOOLS / "venv.sh"
BASH = shutil.which("bash")
WAYS_TO_GET_3_12 = (
    "brew install python@3.12",
    "pyenv install 3.12",
    "uv python install 3.12",
    "LAKEHOUSE_PYTHON=/path/to/python3.12",
)
# A version manager's shim with no interpreter behind it (pyenv's, when the version is not selected).
SHIM = '#!/bin/sh\necho "pyenv: python: command not found" >&2\nexit 127\n'


def version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-S", "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
        )
    except OSError:
        return None
    return tuple(map(int, out.stdout.split())) if out.returncode == 0 else None


@functools.cache
def real_pythons() -> dict[tuple[int, int], str]:
    """One real interpreter per version found on this machine (pyenv's, PATH's, the system's), asked once
    (on first use, not while the tests are collected) and all at the same time."""
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{pyenv_root}/versions/*/bin/python3.*"))
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in range(8, 15)]
    candidates += ["/usr/bin/python3", "/usr/local/bin/python3", sys.executable]
    runnable = [
        path
        for path in dict.fromkeys(os.path.realpath(c) for c in candidates if c)  # each file once, in order
        if os.path.isfile(path) and os.access(path, os.X_OK) and not path.endswith(("-config", ".py"))
    ]
    with ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(version_of, runnable))
    found = {}
    for path, version in zip(runnable, versions):
        if version:
            found.setdefault(version, path)
    return found


def old_python() -> str | None:
    return next((path for version, path in sorted(real_pythons().items()) if version < (3, 11)), None)


def python(version: tuple[int, int]) -> str:
    if version not in real_pythons():
        pytest.skip(f"no Python {version[0]}.{version[1]} on this machine")
    return real_pythons()[version]


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    """A PATH holding only what venv.sh needs besides Python (cat for the help text)."""
    path = tmp_path / "bin"
    path.mkdir()
    (path / "cat").symlink_to(shutil.which("cat"))
    return path


def link(folder: Path, name: str, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).symlink_to(target)
    return folder / name


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def run(call: str, bin_dir: Path, tmp_path: Path, root: Path = repository.ROOT, **env: str):
    """`call` in bash after sourcing venv.sh, with no Python, pyenv, uv or Homebrew but what `env` adds."""
    environment = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "HOMEBREW_PREFIX": str(tmp_path / "no-homebrew"),
        "ROOT": str(root),
        "LAKEHOUSE_VENV": str(tmp_path / "venv"),
        **env,
    }
    return subprocess.run(
        [BASH, "-c", f'set -u; source "$1"; {call}', "_", str(root / "tools" / "venv.sh")],
        env=environment,
        capture_output=True,
        text=True,
    )


def assert_names_the_ways_to_get_3_12(stderr: str):
    for way in WAYS_TO_GET_3_12:
        assert way in stderr, stderr


def test_without_python_the_message_names_the_ways_to_get_3_12(bin_dir, tmp_path):
    script(bin_dir, "python3", SHIM)
    script(bin_dir, "python3.12", SHIM)

    result = run("pick_python", bin_dir, tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith("error: no Python 3.12 (or 3.11) found; the MWAA pins need one")
    assert first_line.endswith("Found instead: none.")
    assert_names_the_ways_to_get_3_12(result.stderr)


def test_an_old_python3_is_named_with_its_version(bin_dir, tmp_path):
    old = old_python()
    if old is None:
        pytest.skip("no Python older than 3.11 on this machine")
    link(bin_dir, "python3", old)  # macOS's /usr/bin/python3 is 3.9

    result = run("pick_python", bin_dir, tmp_path)

    assert result.returncode == 1
    assert f"Found instead: python3 ({'.'.join(map(str, version_of(old)))}." in result.stderr
    assert_names_the_ways_to_get_3_12(result.stderr)


@pytest.mark.parametrize("command", ["./run_tests.sh --fast", "./sync_dags.sh", "./run_local.sh some_dag"])
def test_each_command_stops_with_the_message_and_builds_nothing(command, bin_dir, tmp_path):
    link(bin_dir, "dirname", shutil.which("dirname"))
    script(bin_dir, "python3", SHIM)
    environment = {"PATH": str(bin_dir), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")}
    environment.update(HOMEBREW_PREFIX=str(tmp_path / "none"), LAKEHOUSE_VENV=str(tmp_path / "venv"))

    result = subprocess.run(
        [BASH, *command.split()], cwd=repository.ROOT, env=environment, capture_output=True, text=True
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: no Python 3.12 (or 3.11) found"), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "venv").exists()


def test_pyenv_3_12_comes_before_python3(bin_dir, tmp_path):
    pyenv_python = link(tmp_path / "pyenv/versions/3.12.99/bin", "python3.12", python((3, 12)))
    link(bin_dir, "python3", sys.executable)

    result = run("pick_python", bin_dir, tmp_path, PYENV_ROOT=str(tmp_path / "pyenv"))

    assert (result.returncode, result.stdout) == (0, f"{pyenv_python}\n"), result.stderr


def test_pyenv_root_is_asked_when_pyenv_is_on_path(bin_dir, tmp_path):
    pyenv_python = link(tmp_path / "elsewhere/versions/3.12.99/bin", "python3.12", python((3, 12)))
    script(bin_dir, "pyenv", f'#!/bin/sh\n[ "$1" = root ] && echo "{tmp_path}/elsewhere"\n')

    result = run("pick_python", bin_dir, tmp_path)

    assert (result.returncode, result.stdout) == (0, f"{pyenv_python}\n"), result.stderr


def test_homebrew_3_12_is_found(bin_dir, tmp_path):
    brew_python = link(tmp_path / "brew/opt/python@3.12/bin", "python3.12", python((3, 12)))

    result = run("pick_python", bin_dir, tmp_path, HOMEBREW_PREFIX=str(tmp_path / "brew"))

    assert (result.returncode, result.stdout) == (0, f"{brew_python}\n"), result.stderr


def test_uv_3_12_is_found(bin_dir, tmp_path):
    uv_python = link(tmp_path / "uv/cpython-3.12/bin", "python3.12", python((3, 12)))
    script(bin_dir, "uv", f'#!/bin/sh\n[ "$*" = "python find 3.12" ] && echo "{uv_python}"\n')

    result = run("pick_python", bin_dir, tmp_path)

    assert (result.returncode, result.stdout) == (0, f"{uv_python}\n"), result.stderr


def test_python3_12_on_path_comes_first(bin_dir, tmp_path):
    link(bin_dir, "python3.12", python((3, 12)))
    link(tmp_path / "brew/opt/python@3.12/bin", "python3.12", python((3, 12)))

    result = run("pick_python", bin_dir, tmp_path, HOMEBREW_PREFIX=str(tmp_path / "brew"))

    assert (result.returncode, result.stdout) == (0, "python3.12\n"), result.stderr


def test_lakehouse_python_is_taken_as_given(bin_dir, tmp_path):
    link(bin_dir, "python3.12", python((3, 12)))

    result = run("pick_python", bin_dir, tmp_path, LAKEHOUSE_PYTHON=sys.executable)

    assert (result.returncode, result.stdout) == (0, f"{sys.executable}\n"), result.stderr


@pytest.mark.parametrize("version", [(3, 10), (3, 11), (3, 12), (3, 13)], ids=lambda v: "%d.%d" % v)
def test_lakehouse_python_must_be_3_11_or_3_12(version, bin_dir, tmp_path):
    chosen = python(version)

    result = run("pick_python", bin_dir, tmp_path, LAKEHOUSE_PYTHON=chosen)

    if version in ((3, 11), (3, 12)):
        assert (result.returncode, result.stdout) == (0, f"{chosen}\n"), result.stderr
    else:
        assert result.returncode == 1
        assert result.stderr.startswith(
            f"error: LAKEHOUSE_PYTHON={chosen} is Python {version[0]}.{version[1]}."
        )
        assert "the MWAA pins need 3.12 (or 3.11)" in result.stderr.splitlines()[0]
        assert_names_the_ways_to_get_3_12(result.stderr)


def test_lakehouse_python_that_does_not_run_is_named(bin_dir, tmp_path):
    shim = script(bin_dir, "python3.12", SHIM)

    result = run("pick_python", bin_dir, tmp_path, LAKEHOUSE_PYTHON=str(shim))

    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"error: LAKEHOUSE_PYTHON={shim} does not run."


def test_a_python_without_the_venv_module_is_passed_over(bin_dir, tmp_path):
    # Debian's python3.X without python3.X-venv: ensurepip does not import.
    stripped = tmp_path / "stripped"
    stripped.mkdir()
    (stripped / "ensurepip.py").write_text("raise ImportError('ensurepip is in python3-venv')\n")
    link(bin_dir, "python3", sys.executable)

    result = run("pick_python", bin_dir, tmp_path, PYTHONPATH=str(stripped))

    assert result.returncode == 1
    assert f"python3 ({'.'.join(map(str, sys.version_info[:3]))}, no venv module)" in result.stderr


# ensure_venv: a venv whose stamp matches is used as it is; a changed requirements file reinstalls.
@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    shutil.copy2(VENV_SCRIPT, root / "tools" / "venv.sh")
    shutil.copy2(repository.TOOLS / "constraints.py", root / "tools" / "constraints.py")
    shutil.copytree(repository.REQUIREMENTS, root / "requirements")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    return root


def stamp_of(root: Path, venv_python: Path) -> str:
    """What `cat requirements/*.txt <(python -VV) | sha256sum` printed: existing venvs keep their stamp."""
    digest = hashlib.sha256()
    for path in sorted((root / "requirements").glob("*.txt")):
        digest.update(path.read_bytes())
    digest.update(subprocess.run([venv_python, "-VV"], capture_output=True, check=True).stdout)
    return digest.hexdigest()


def test_a_current_venv_is_used_without_looking_for_python(project, bin_dir, tmp_path):
    venv = tmp_path / "venv"
    (venv / ".requirements.sha256").write_text(stamp_of(project, venv / "bin" / "python") + "\n")

    result = run("ensure_venv", bin_dir, tmp_path, root=project)  # no Python on PATH at all

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_changed_requirements_file_reinstalls_and_keeps_the_old_stamp(project, bin_dir, tmp_path):
    venv = tmp_path / "venv"
    stamp = stamp_of(project, venv / "bin" / "python") + "\n"
    (venv / ".requirements.sha256").write_text(stamp)
    with (project / "requirements" / "dev.txt").open("a") as f:
        f.write("# changed\n")

    # The venv has no pip, so the install fails here, like a failed download.
    result = run("ensure_venv", bin_dir, tmp_path, root=project)

    assert result.returncode == 1
    assert "installing pinned requirements" in result.stdout
    assert "error: pip install failed; fix requirements/ and rerun (nothing was stamped)" in result.stderr
    assert (venv / ".requirements.sha256").read_text() == stamp
