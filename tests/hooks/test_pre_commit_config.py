""".pre-commit-config.yaml: local hooks only, calling the same scripts as hooks/install.sh installs."""

from __future__ import annotations

import os

import yaml


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
