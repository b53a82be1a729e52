"""The pre-commit checks (run by hooks/pre-commit with the repository's venv).

They read the staged blobs, i.e. exactly what the commit will contain, never the working tree:

1. black formats the staged Python files. A reformatted blob replaces the staged one; the working tree copy
   follows only when the file has no unstaged changes, so a partially staged file keeps its unstaged part
   and nothing unstaged is swept into the commit.
2. flake8 and ruff's Airflow rules (`ruff check --select AIR`) lint the staged (formatted) Python files.
3. A secret scan (tools/gate/secret_scan.py, the scanner ./run_tests.sh runs over every file) reads the lines
   this commit adds, in every staged regular file (new, modified, or a symbolic link turned into a file;
   binary and large files too), while black and flake8 run. A finding refuses the commit before anything is
   reformatted.

black and flake8 run once each, as `black .` and `flake8 .` in a scratch folder holding the staged files and
copies of the lint configuration, so their settings and exclusions apply exactly as in ./run_tests.sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import git_blobs
from gate import secret_scan

PYTHON_SUFFIXES = (".py", ".pyi")
REGULAR_FILE_MODES = ("100644", "100755")  # symlinks and submodules are neither formatted nor scanned
LINT_CONFIG_FILES = ("pyproject.toml", ".flake8", "setup.cfg", "tox.ini", ".gitignore")
NULL_BLOB_PREFIX = "0000000"


@dataclass(frozen=True)
class StagedFile:
    path: str
    mode: str
    old_blob: str  # zeros for a file the commit adds
    blob: str

    @property
    def is_python(self) -> bool:
        return self.path.endswith(PYTHON_SUFFIXES)


class GitError(RuntimeError):
    pass


def git(*args: str, stdin: bytes | None = None, index_file: str | None = None) -> bytes:
    env = dict(os.environ, GIT_INDEX_FILE=index_file) if index_file else None
    result = subprocess.run(["git", *args], input=stdin, capture_output=True, env=env)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args)} failed: {detail}")
    return result.stdout


def commit_base() -> str:
    """HEAD, or the empty tree for the first commit of a repository."""
    head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        return head.stdout.strip()
    return git("hash-object", "-t", "tree", "--stdin", stdin=b"").decode().strip()


def staged_files(base: str) -> list[StagedFile]:
    """Regular files the commit adds, modifies or turns into a file (raw diff of the index against HEAD)."""
    fields = git("diff-index", "--cached", "-z", "--no-renames", "--diff-filter=AMT", base).split(b"\0")
    files = []
    for header, path in zip(fields[0::2], fields[1::2]):
        _, mode, old_blob, blob, _ = header.decode().lstrip(":").split(" ")
        if mode in REGULAR_FILE_MODES:
            files.append(StagedFile(os.fsdecode(path), mode, old_blob, blob))
    return files


def unstaged_paths() -> set[str]:
    """Paths whose working tree copy differs from the index (or is deleted)."""
    out = git("diff", "--name-only", "-z", "--no-ext-diff", "--no-renames")
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def run_tool(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, env=env)


def format_python(files: list[StagedFile], scratch: Path, cache: Path) -> tuple[dict[str, bytes], str]:
    """Run black over the scratch copies; returns {path: formatted bytes} for changed files, and errors."""
    if not files:
        return {}, ""
    # A scratch cache: black's default cache would collect an entry per scratch path, commit after commit.
    env = dict(os.environ, BLACK_CACHE_DIR=str(cache))
    before = {f.path: (scratch / f.path).read_bytes() for f in files}
    result = run_tool(["black", "--quiet", "."], scratch, env)
    errors = result.stderr.strip() if result.returncode != 0 else ""
    changed = {}
    for path, original in before.items():
        formatted = (scratch / path).read_bytes()
        if formatted != original:
            changed[path] = formatted
    return changed, errors


def stage_formatted(changed: dict[str, bytes], files: dict[str, StagedFile], scratch: Path) -> None:
    """Write the formatted blobs into the index (keeping each file's mode); touch nothing else."""
    paths = list(changed)
    shas = git(
        "hash-object",
        "-w",
        "--no-filters",
        "--stdin-paths",
        stdin="".join(f"{scratch / p}\n" for p in paths).encode(),
    )
    index_info = b"".join(
        f"{files[p].mode} {sha}\t".encode() + os.fsencode(p) + b"\0"
        for p, sha in zip(paths, shas.decode().split())
    )
    git("update-index", "-z", "--index-info", stdin=index_info)
    real_index = partial_commit_real_index()
    if real_index:
        git("update-index", "-z", "--index-info", stdin=index_info, index_file=real_index)


def partial_commit_real_index() -> str | None:
    """For `git commit -- <paths>`: the locked real index, which becomes .git/index after the commit.

    In that mode git gives the hook a temporary index (next-index-*.lock) holding HEAD plus the named paths,
    and has already added those paths to the real one: the formatting must land in both, or `git status`
    would show the unformatted version staged again.
    """
    index = os.environ.get("GIT_INDEX_FILE", "")
    if not Path(index).name.startswith("next-index-"):
        return None
    real = Path(git("rev-parse", "--git-path", "index.lock").decode().strip())
    return str(real.resolve()) if real.exists() else None


def follow_in_working_tree(paths: list[str]) -> None:
    """Copy the (formatted) index version to the working tree; git applies any checkout filters."""
    if paths:
        git("checkout-index", "-f", "-z", "--stdin", stdin=b"".join(os.fsencode(p) + b"\0" for p in paths))


# ruff's Airflow rules, as ./run_tests.sh runs them (settings and exclusions from pyproject.toml).
RUFF_AIRFLOW_RULES = [
    "ruff",
    "check",
    "--quiet",
    "--no-cache",
    "--output-format",
    "concise",
    "--select",
    "AIR",
    ".",
]


def lint(files: list[StagedFile], scratch: Path) -> str:
    if not files:
        return ""
    problems = []
    for command in (["flake8", "."], RUFF_AIRFLOW_RULES):
        result = run_tool(command, scratch)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            problems += [line.removeprefix("./") for line in output]
    return "\n".join(problems)


def added_lines(old: bytes, new: bytes) -> set[int]:
    """Numbers of the lines of `new` whose text is not a line of `old` (linear, also for large files)."""
    carried_over = set(secret_scan.readable(old)[0])
    texts, numbers = secret_scan.readable(new)
    return {
        index + 1 if numbers is None else numbers[index]
        for index, text in enumerate(texts)
        if text not in carried_over
    }


def scan_secrets(files: list[StagedFile], blobs: dict[str, bytes]) -> list[str]:
    """The shared scanner over the staged blobs, reporting findings on added lines only."""
    findings = secret_scan.scan(
        (staged.path, blobs[staged.blob], added_lines(blobs.get(staged.old_blob, b""), blobs[staged.blob]))
        for staged in files
    )
    return [str(finding) for finding in findings]


def materialize(files: list[StagedFile], blobs: dict[str, bytes], folder: Path) -> None:
    """The staged Python files and the lint configuration, in a scratch folder for black and flake8."""
    folder.mkdir()
    root = Path(git("rev-parse", "--show-toplevel").decode().strip())
    for name in LINT_CONFIG_FILES:
        if (root / name).is_file():
            shutil.copyfile(root / name, folder / name)
    for staged in files:
        target = folder / staged.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blobs[staged.blob])


def format_and_lint(
    python: list[StagedFile], scratch: Path, cache: Path
) -> tuple[dict[str, bytes], str, str]:
    changed, black_errors = format_python(python, scratch, cache)
    return changed, black_errors, lint(python, scratch)


def report(problem: str, details: str, fix: str) -> None:
    print(f"pre-commit: {problem}:\n{details}\nFix: {fix}", file=sys.stderr)


def apply_formatting(changed: dict[str, bytes], by_path: dict[str, StagedFile], scratch: Path) -> None:
    dirty = unstaged_paths()
    stage_formatted(changed, by_path, scratch)
    follow_in_working_tree([p for p in changed if p not in dirty])
    for path in changed:
        if path in dirty:
            print(
                f"pre-commit: black reformatted the staged part of {path}; your unstaged changes are "
                f"untouched (run `.venv/bin/black {path}` when you are ready)"
            )
        else:
            print(f"pre-commit: black reformatted {path} (re-staged)")


def main() -> int:
    files = staged_files(commit_base())
    if not files:
        return 0
    shas = [f.blob for f in files] + [f.old_blob for f in files]
    blobs = git_blobs.read_blobs(git, [sha for sha in shas if not sha.startswith(NULL_BLOB_PREFIX)])
    python = [f for f in files if f.is_python]
    with tempfile.TemporaryDirectory(prefix="pre-commit-") as tmp:
        scratch, cache = Path(tmp) / "formatted", Path(tmp) / "black-cache"
        materialize(python, blobs, scratch)
        # black and flake8 are subprocesses: the secret scan runs meanwhile, on the blobs as staged.
        with ThreadPoolExecutor(max_workers=1) as pool:
            checks = pool.submit(format_and_lint, python, scratch, cache)
            secrets = scan_secrets(files, blobs)
            changed, black_errors, lint_errors = checks.result()

        if secrets:
            # Nothing is reformatted, so the line numbers are those of the files as they were staged.
            report(
                "possible credentials in the staged changes (nothing was reformatted)",
                "\n".join(f"  {finding}" for finding in secrets),
                "remove them (`git restore --staged <file>` unstages, then edit); credentials belong\n"
                "in Airflow connections or AWS Secrets Manager. A false positive: end the line with the\n"
                f"comment `{secret_scan.ALLOWLIST_COMMENT}` and stage it again.",
            )
        else:
            if changed:
                apply_formatting(changed, {f.path: f for f in files}, scratch)
            if black_errors:
                report(
                    "black could not format the staged version",
                    black_errors,
                    "correct the syntax error above, `git add` the file and commit again.",
                )
            if lint_errors:  # line numbers of the formatted version, which is now the staged one
                report(
                    "flake8 or ruff's Airflow rules found problems in the staged files",
                    lint_errors,
                    "edit those lines, `git add` the files and commit again.",
                )
    if secrets or black_errors or lint_errors:
        print(
            "pre-commit: commit refused (skip the checks once with `git commit --no-verify`).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GitError as error:
        print(f"pre-commit: {error}", file=sys.stderr)
        sys.exit(1)
