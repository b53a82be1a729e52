"""The test-gate stamp: the git tree hash of the working tree that ./run_tests.sh last passed on.

The hash covers the working tree as `git add -A` would record it (tracked changes and untracked files git
does not ignore), computed in a temporary index so the real one is never touched: a dirty tree gets its own
hash, and any edit after a green run makes the stamp stale. The sync bundles that very tree object.

    python -m deploy.stamp tree              print the working tree's hash
    python -m deploy.stamp write HASH MODE REPORT
                            record a green run of the tree HASH (MODE: fast | full) if REPORT (written by
                            the pytest plugin deploy.selection) says the run was whole, and the tree is
                            still HASH (unchanged while the tests ran)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

STAMP_FILE = Path("build") / "test-gate" / "passed-tree"


class GitError(RuntimeError):
    """Not a git checkout, or git failed (the message says what to do)."""


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    except FileNotFoundError as error:
        raise GitError("git is not installed; the sync needs it to know which tree was tested") from error
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def tree_hash(repo: Path) -> str:
    """The tree hash of the working tree at `repo`, as `git add -A && git write-tree` would give.

    Computed in a scratch index that holds the real index's entries without their stat data or flags, so
    `git add -A` reads every file: neither `update-index --assume-unchanged` / `--skip-worktree` nor a
    stat cache fooled by a restored mtime can hide an edit. (Also what keeps tracked files that .gitignore
    matches, which a from-nothing index would drop.)
    """
    repo = Path(repo)
    real_index = Path(_git(repo, "rev-parse", "--path-format=absolute", "--git-path", "index").strip())
    with tempfile.TemporaryDirectory(prefix="tree-hash-") as scratch:
        index = Path(scratch) / "index"
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        if real_index.exists():
            shutil.copyfile(real_index, index)
            staged = _git(repo, "write-tree", env=env).strip()
            index.unlink()
            _git(repo, "read-tree", staged, env=env)  # entries without stat data or flags
        _git(repo, "add", "-A", env=env)
        return _git(repo, "write-tree", env=env).strip()


def dirty_paths(repo: Path) -> list[str]:
    """`git status --porcelain` lines: uncommitted changes and untracked files."""
    return [line for line in _git(Path(repo), "status", "--porcelain").splitlines() if line]


def stamp_path(repo: Path) -> Path:
    return Path(repo) / STAMP_FILE


def read(repo: Path) -> dict[str, str]:
    """{'tree': ..., 'mode': ..., 'at': ...} of the last green run, or {} when there is none."""
    path = stamp_path(repo)
    if not path.is_file():
        return {}
    return dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)


def write(repo: Path, tested_tree: str, mode: str) -> bool:
    """Stamp `tested_tree` as green if the working tree is still that tree; False (not stamped) otherwise."""
    if tree_hash(repo) != tested_tree:
        return False
    path = stamp_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path.write_text(f"tree {tested_tree}\nmode {mode}\nat {at}\n")
    return True


def selection_verdict(report: Path, mode: str) -> str | None:
    """None when the pytest run behind `report` tested the whole selection of `mode`; else why not."""
    try:
        verdict = report.read_text().strip()
    except OSError:
        return "pytest wrote no selection report (was deploy.selection disabled?)"
    if verdict == f"whole {mode}":
        return None
    return verdict.removeprefix(f"narrowed {mode}: ") or "an empty selection report"


def main(argv: list[str]) -> int:
    repo = Path.cwd()
    try:
        if argv[:1] == ["tree"]:
            print(tree_hash(repo))
            return 0
        if argv[:1] == ["write"] and len(argv) == 4:
            narrowed = selection_verdict(Path(argv[3]), argv[2])
            if narrowed:
                print(
                    f"gate stamp: not recorded: the run was narrowed ({narrowed}). Fix: for a green gate run "
                    "the whole selection: ./run_tests.sh [--fast], no test arguments, no PYTEST_ADDOPTS"
                )
            elif write(repo, argv[1], argv[2]):
                print(f"gate stamp: tree {argv[1][:12]} passed ({argv[2]}), recorded in {STAMP_FILE}")
            else:
                print("gate stamp: files changed while the tests ran; not stamped (rerun ./run_tests.sh)")
            return 0
    except GitError as error:
        print(f"gate stamp: {error}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
