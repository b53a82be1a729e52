"""What the git hooks cost: hooks/pre-commit on commits of N Python files, and a pre-push with nothing new.

In a scratch repository holding the project's hooks and lint configuration, for each N it stages N copies of
a real DAG file (half of them unformatted) and times `git commit` with the hook against `git commit
--no-verify` (median of --runs). The difference is the hook's cost; the target is under 2 s for a typical
commit (1-10 files). CPU seconds are printed too: on a busy machine they say what the hook itself costs.
It also times a push of a branch the remote already has (the hook runs, finds nothing new, runs no tests).

    tools/venv.sh python tools/benchmarks/hooks.py [--files 1 5 20 100] [--runs 5]

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import repository

TARGET_SECONDS = 2.0


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "AIRFLOW"))}
    (home / "gitconfig").touch()
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        LAKEHOUSE_VENV=sys.prefix,
    )
    return env


def git(repo: Path, env: dict, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def scratch_repo(root: Path, env: dict) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, env, "init", "-q", "-b", "main")
    repository.copy_hook_files(repo)
    subprocess.run(["hooks/install.sh"], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, env, "add", ".")
    git(repo, env, "commit", "-q", "--no-verify", "-m", "hooks")
    return repo


def sample_dag() -> str:
    dags = sorted((repository.DAGS).glob("*.py"))
    if not dags:
        sys.exit("tools/benchmarks/hooks.py: no DAG file in dags/ to use as the sample")
    return max(dags, key=lambda p: p.stat().st_size).read_text()


def unformat(source: str) -> str:
    """The same code as black would not leave it: a space after every opening parenthesis."""
    return source.replace("(", "( ")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_commit(
    repo: Path, env: dict, files: int, round_: int, hook: bool, sample: str
) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all processes) of one `git commit`."""
    names = []
    for i in range(files):
        path = repo / "dags" / f"bench_{round_}_{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(unformat(sample) if i % 2 == 0 else sample)
        names.append(str(path.relative_to(repo)))
    git(repo, env, "add", *names)
    started, cpu_started = time.perf_counter(), children_cpu_seconds()
    done = subprocess.run(
        ["git", "commit", "-q", "-m", f"bench {round_}", *([] if hook else ["--no-verify"])],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu_started
    if done.returncode != 0:  # e.g. flake8 finds the sample's unformatted copy too odd: commit regardless
        git(repo, env, "commit", "-q", "--no-verify", "-m", f"bench {round_}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1, 5, 20, 100])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    sample = sample_dag()
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp:
        root = Path(tmp)
        env = environment(root)
        repo = scratch_repo(root, env)
        print(f"pre-commit (sample: {len(sample.splitlines())}-line DAG file, half the copies unformatted)")
        columns = (
            f"{'files':>6} {'with hook s':>12} {'no-verify s':>12} {'hook cost s':>12} {'hook CPU s':>11}"
        )
        load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        print(f"{columns}  target < {TARGET_SECONDS} s; {load}")
        round_ = 0
        for files in args.files:
            with_hook, without, cpu = [], [], []
            for _ in range(args.runs):
                round_ += 1
                wall, hook_cpu = timed_commit(repo, env, files, round_, True, sample)
                with_hook.append(wall)
                round_ += 1
                wall, plain_cpu = timed_commit(repo, env, files, round_, False, sample)
                without.append(wall)
                cpu.append(hook_cpu - plain_cpu)
            hooked, plain, hook_cpu = (
                statistics.median(with_hook),
                statistics.median(without),
                statistics.median(cpu),
            )
            print(f"{files:>6} {hooked:>12.3f} {plain:>12.3f} {hooked - plain:>12.3f} {hook_cpu:>11.3f}")

        remote = root / "remote.git"
        git(repo, env, "init", "-q", "--bare", "-b", "main", str(remote))
        git(repo, env, "remote", "add", "origin", str(remote))
        git(repo, env, "push", "-q", "--no-verify", "origin", "main")
        times = []
        for i in range(args.runs):
            started = time.perf_counter()
            git(repo, env, "push", "-q", "origin", f"main:refs/heads/copy-{i}")
            times.append(time.perf_counter() - started)
        print(f"pre-push with nothing new to push (no tests run): {statistics.median(times):.3f} s median")


if __name__ == "__main__":
    main()
