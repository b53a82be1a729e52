""".pre-commit-config.yaml: local hooks only, calling the same scripts as hooks/install.sh installs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from tests.hooks.conftest import repo_with_hook_files
from tests.hooks.test_pre_commit import FAKE_ACCESS_KEY_ID, FORMATTED, UNFORMATTED


def test_pre_commit_framework_runs_the_repository_hooks_and_downloads_nothing(repo_root):
    config = yaml.safe_load((repo_root / ".pre-commit-config.yaml").read_text())

    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["entry"]: hook for hook in config["repos"][0]["hooks"]}
    assert set(hooks) == {"hooks/pre-commit", "hooks/pre-push"}
    assert hooks["hooks/pre-commit"]["stages"] == ["pre-commit"]
    assert hooks["hooks/pre-push"]["stages"] == ["pre-push"]
    for entry, hook in hooks.items():
        assert hook["language"] == "script"  # runs the file as it is: no environment to download
        assert (
            hook["pass_filenames"] is False
        )  # the scripts find the staged files / pushed commits themselves
        assert os.access(repo_root / entry, os.X_OK), f"{entry} is not executable"


def test_installed_by_the_framework_the_commit_hook_formats_and_refuses_secrets(tmp_path, git_env):
    env = {**git_env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    repo = repo_with_hook_files(tmp_path / "repo", env, extra=(".pre-commit-config.yaml",))
    pre_commit = str(Path(sys.prefix) / "bin" / "pre-commit")
    repo.run(pre_commit, "install", "--hook-type", "pre-commit", "--hook-type", "pre-push")
    assert "pre-commit" in (repo.path / ".git/hooks/pre-commit").read_text()  # the framework's, not ours

    repo.write("dags/settings.py", UNFORMATTED)
    repo.git("add", "dags/settings.py")
    formatted = repo.git("commit", "-m", "settings")

    assert "black on the staged Python files" in formatted.output and "Passed" in formatted.output
    assert repo.committed("dags/settings.py") == FORMATTED

    before = repo.head()
    repo.write("plugins/lakehouse/credentials.py", f'aws_access_key_id = "{FAKE_ACCESS_KEY_ID}"\n')
    repo.git("add", "plugins/lakehouse/credentials.py")
    refused = repo.git("commit", "-m", "credentials", check=False)

    assert refused.returncode != 0 and "Failed" in refused.output
    assert "plugins/lakehouse/credentials.py:1: AWS Access Key" in refused.output
    assert repo.head() == before
