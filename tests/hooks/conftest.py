"""Real git repositories in temporary folders, with this repository's hooks installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import repository

# Variables of the test session that must not reach the hooks: git's (they would point at this repository)
# and the throwaway Airflow home / DAG folder the session configured.
LEAKING_PREFIXES = ("GIT_", "AIRFLOW", "GATE_", "PYTEST")


class Result(subprocess.CompletedProcess):
    @property
    def output(self) -> str:
        """stdout and stderr together (git sends pre-commit output to stderr, pre-push output to stdout)."""
        return self.stdout + self.stderr


class Repo:
    def __init__(self, path: Path, env: dict[str, str]):
        self.path = path
        self.env = env

    def run(self, *args: str, check: bool = True) -> Result:
        done = subprocess.run(args, cwd=self.path, env=self.env, capture_output=True, text=True)
        result = Result(done.args, done.returncode, done.stdout, done.stderr)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result

    def git(self, *args: str, check: bool = True) -> Result:
        return self.run("git", *args, check=check)

    def write(self, relative: str, text: str) -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def staged(self, relative: str) -> str:
        return self.git("show", f":{relative}").stdout

    def committed(self, relative: str, rev: str = "HEAD") -> str:
        return self.git("show", f"{rev}:{relative}").stdout

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="session")
def git_env(tmp_path_factory) -> dict[str, str]:
    """A clean environment: no user or system git configuration, a fixed identity, the project's venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKING_PREFIXES)}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(tmp_path_factory.mktemp("gitconfig") / "empty"),
        GIT_AUTHOR_NAME="Data Engineer",
        GIT_AUTHOR_EMAIL="engineer@example.com",
        GIT_COMMITTER_NAME="Data Engineer",
        GIT_COMMITTER_EMAIL="engineer@example.com",
        LAKEHOUSE_VENV=sys.prefix,  # the venv running these tests
    )
    return env


def init_repo(path: Path, env: dict[str, str]) -> Repo:
    path.mkdir(parents=True)
    repo = Repo(path, env)
    repo.git("init", "-q", "-b", "main")
    return repo


def repo_with_hook_files(path: Path, env: dict[str, str], extra: tuple[str, ...] = ()) -> Repo:
    """A new repository whose first commit holds the hook files (and `extra` files) of this working tree."""
    repo = init_repo(path, env)
    repository.copy_hook_files(repo.path, extra)
    repo.git("add", ".")
    repo.git("commit", "-q", "--no-verify", "-m", "hooks")
    return repo


@pytest.fixture
def hooked_repo(tmp_path, git_env) -> Repo:
    """A small repository with the hooks installed and one commit holding the hook files."""
    repo = repo_with_hook_files(tmp_path / "repo", git_env)
    repo.run("hooks/install.sh")
    return repo
