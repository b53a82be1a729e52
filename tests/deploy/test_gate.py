"""The gate in front of the sync, with real git and the real ./run_tests.sh and ./sync_dags.sh, in a small
repository that shares the venv running these tests (LAKEHOUSE_VENV). The tests that run the nested gate are
slow."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy import bundle as bundling
from deploy import stamp
from deploy.cli import REFUSED, main
from deploy import REPORT_DEPRECATIONS_ENV
from tests.deploy.support import commit_all, git, make_repo
import repository

RELEASE_TEST = """from pathlib import Path


def test_release_is_good():
    assert Path("dags/release.txt").read_text() == "good\\n"
"""


@pytest.fixture
def gated(tmp_path) -> Path:
    """A repository with the real run_tests.sh, sync_dags.sh, venv.sh and deploy package, and one test."""
    repo = make_repo(
        tmp_path / "gated",
        {
            ".gitignore": "build/\n__pycache__/\n*.pyc\n",
            "pyproject.toml": "[tool.black]\nline-length = 110\n",
            "dags/redshift__01_first.py": "FIRST = 1\n",
            "dags/release.txt": "good\n",
            "plugins/lakehouse/__init__.py": "",
            "tests/test_release.py": RELEASE_TEST,
        },
    )
    for name in (
        "run_tests.sh",
        "sync_dags.sh",
        "tools/venv.sh",
        "tools/git_blobs.py",
        ".flake8",
        "tools/repository.py",
        "tools/gate/__init__.py",
        "tools/gate/inventory.py",  # the sync reads the DAG inventory's format from it
        "tools/gate/lint.py",
        "tools/gate/secret_scan.py",
        "tools/gate/summary.py",
    ):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repository.ROOT / name, repo / name)
    for folder in ("requirements", "tools/deploy"):
        shutil.copytree(repository.ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    commit_all(repo, "gate and sync scripts")
    return repo


def gate_env(env: dict[str, str] | None = None) -> dict[str, str]:
    # The venv running these tests (in the upgrade check, the next version's; never a .venv it would build),
    # and without the upgrade check's demotion, which would leave every nested run unstamped.
    inherited = {name: value for name, value in os.environ.items() if name != REPORT_DEPRECATIONS_ENV}
    return {**inherited, "LAKEHOUSE_VENV": sys.prefix, **(env or {})}


def sh(repo: Path, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=repo, env=gate_env(env), capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # runs the nested ./run_tests.sh (flake8, black, pytest): ~5 s
def test_a_green_tree_is_tested_once_then_synced(gated, tmp_path):
    first = sh(gated, "./sync_dags.sh", "--target", str(tmp_path / "bucket"))

    assert first.returncode == 0, first.stdout + first.stderr
    tree = stamp.tree_hash(gated)
    assert (
        f"gate: no green run recorded for tree {tree[:12]}; running ./run_tests.sh --fast --all\n"
        in first.stdout
    )
    assert "all green" in first.stdout
    assert (tmp_path / "bucket/dags/redshift__01_first.py").read_text() == "FIRST = 1\n"

    second = sh(gated, "./sync_dags.sh", "--target", str(tmp_path / "bucket"))

    assert second.returncode == 0, second.stdout + second.stderr
    assert "running ./run_tests.sh" not in second.stdout
    assert f"tree {tree[:12]} passed ./run_tests.sh (fast" in second.stdout
    assert "nothing to do" in second.stdout


@pytest.mark.slow
def test_failing_tests_refuse_the_sync(gated, tmp_path):
    (gated / "dags/release.txt").write_text("bad\n")
    commit_all(gated, "a change the tests reject")

    done = sh(gated, "./sync_dags.sh", "--target", str(tmp_path / "bucket"))

    assert done.returncode == REFUSED
    assert "FAILED" in done.stdout
    assert (
        f"refused: ./run_tests.sh --fast --all failed (exit 1) on tree {stamp.tree_hash(gated)[:12]}; "
        in done.stderr
    )
    assert not (tmp_path / "bucket").exists()


RUN_LOCK = "build/test-gate/running"  # run_tests.sh's one-run-per-checkout lock
WAITING_TEST = """import os
import pathlib
import time


def test_waits_for_its_release():
    pathlib.Path(os.environ["GATE_STARTED"]).touch()
    deadline = time.monotonic() + 120
    while not pathlib.Path(os.environ["GATE_RELEASE"]).exists():
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.05)
"""


@pytest.mark.slow
def test_a_second_gate_run_in_the_same_checkout_is_refused_while_the_first_runs(gated, tmp_path):
    """Two runs at once would share build/test-logs: a narrowed run could stamp its tree by the selection
    report of a whole one. The second is refused, naming the first; the first ends green and stamps."""
    (gated / "tests/test_waits.py").write_text(WAITING_TEST)
    commit_all(gated, "a test that waits for its release")
    started, release = tmp_path / "started", tmp_path / "release"
    env = gate_env({"GATE_STARTED": str(started), "GATE_RELEASE": str(release)})
    first = subprocess.Popen(
        ["./run_tests.sh", "--fast"],
        cwd=gated,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the first run never reached its tests"

        second = sh(gated, "./run_tests.sh", "--fast", "-k", "release", env=env)

        assert second.returncode == 2, second.stdout + second.stderr
        assert re.match(
            rf"error: another gate run is using this checkout \(pid {first.pid} since \d\d:\d\d:\d\d: "
            r"\./run_tests\.sh --fast\); ",
            second.stderr,
        ), second.stderr
        assert second.stderr.rstrip().endswith(f"Fix: wait for it to end, or stop it: kill {first.pid}")
        assert "== pytest" not in second.stdout
    finally:
        release.touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out + err
    assert stamp.read(gated)["tree"] == stamp.tree_hash(gated)
    assert not (gated / RUN_LOCK).is_symlink()


@contextlib.contextmanager
def lock_held_by(repo: Path, argv: list[str], gone: bool = False):
    """The gate's lock in `repo`, naming a process started from `argv` (waited for first when `gone`);
    the process is ended on exit."""
    process = subprocess.Popen(argv)
    if gone:
        process.wait()
    lock = repo / RUN_LOCK
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.symlink_to(f"{process.pid} since 10:00:00: ./run_tests.sh --fast")
    try:
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("holder", ["a process that is gone", "a live process that is no gate run"])
def test_a_lock_whose_holder_is_no_gate_run_is_taken_over(gated, holder):
    """A run killed with SIGKILL (or a machine restart) leaves its lock; a pid can be reused by then."""
    gone = holder == "a process that is gone"
    with lock_held_by(gated, ["true"] if gone else ["sleep", "120"], gone=gone) as process:
        done = sh(gated, "./run_tests.sh", "--fast")
    lock = gated / RUN_LOCK

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"== a gate run that is gone left its lock (pid {process.pid} since 10:00:00: "
        "./run_tests.sh --fast): taken over =="
    ) in done.stderr
    assert stamp.read(gated)["tree"] == stamp.tree_hash(gated) and not lock.is_symlink()


def test_a_live_holder_is_kept_when_ps_cannot_tell_what_it_runs(gated, tmp_path):
    # busybox's ps knows no -p/-o: a live holder then counts as a gate run, never as one to take over.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ps").write_text("#!/bin/sh\necho 'ps: unrecognized option: p' >&2\nexit 1\n")
    (bin_dir / "ps").chmod(0o755)
    with lock_held_by(gated, ["sleep", "120"]) as holder:
        done = sh(gated, "./run_tests.sh", "--fast", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    lock = gated / RUN_LOCK

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"error: another gate run is using this checkout (pid {holder.pid} since ")
    assert lock.is_symlink()


@pytest.mark.slow
def test_a_folder_in_the_lock_s_place_stops_the_gate_with_the_fix(gated):
    # ln -s would make its link inside the folder and the run would go on unlocked.
    (gated / RUN_LOCK).mkdir(parents=True)

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        "error: the gate cannot take its lock build/test-gate/running (a file or folder that is no lock is "
        "in its place). Fix: rm -rf build/test-gate/running"
    ), done.stderr
    assert "== pytest" not in done.stdout and list((gated / RUN_LOCK).iterdir()) == []
    subprocess.run(["rm", "-rf", RUN_LOCK], cwd=gated, check=True)  # the fix, as printed
    assert sh(gated, "./run_tests.sh", "--fast").returncode == 0


@pytest.mark.slow
def test_a_run_with_more_arguments_than_a_link_holds_still_takes_the_lock(gated):
    # The lock's link names the command; a link's target is at most PATH_MAX (4096) bytes.
    paths = [f"tests/test_{n:0200d}.py" for n in range(25)]

    done = sh(gated, "./run_tests.sh", "--fast", *paths)

    assert "lock" not in done.stderr, done.stderr
    assert "== pytest (fast: not slow) ==" in done.stdout and "file or directory not found" in done.stdout
    assert not (gated / RUN_LOCK).is_symlink()


def test_a_sync_while_a_gate_run_holds_the_checkout_is_refused_naming_it(gated, tmp_path):
    # A process whose command line names run_tests.sh, as a gate run's does.
    with lock_held_by(gated, ["bash", "-c", "sleep 120; exit", "./run_tests.sh"]) as holder:
        done = sh(gated, "./sync_dags.sh", "--target", str(tmp_path / "bucket"))
    lock = gated / RUN_LOCK

    assert done.returncode == REFUSED
    assert done.stdout.splitlines()[1].startswith(
        f"error: another gate run is using this checkout (pid {holder.pid} since 10:00:00: "
        "./run_tests.sh --fast)"
    ), done.stdout
    assert done.stderr.startswith("refused: ./run_tests.sh --fast --all did not run (exit 2) on tree ")
    assert "Fix: what its error above says, then sync again." in done.stderr
    assert not (tmp_path / "bucket").exists() and lock.is_symlink()


@pytest.mark.slow
def test_a_dirty_tree_is_refused_unless_allowed(gated, tmp_path):
    (gated / "dags/redshift__01_first.py").write_text('FIRST = "uncommitted"\n')

    refused = sh(gated, "./sync_dags.sh", "--target", str(tmp_path / "bucket"))

    assert refused.returncode == REFUSED
    assert "uncommitted changes" in refused.stderr and "dags/redshift__01_first.py" in refused.stderr
    assert "--allow-dirty" in refused.stderr and not (tmp_path / "bucket").exists()

    allowed = sh(gated, "./sync_dags.sh", "--allow-dirty", "--target", str(tmp_path / "bucket"))

    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "running ./run_tests.sh --fast --all\n" in allowed.stdout  # the dirty tree is a tree of its own
    assert (tmp_path / "bucket/dags/redshift__01_first.py").read_text() == 'FIRST = "uncommitted"\n'


@pytest.mark.slow
def test_skip_gate_run_needs_a_green_run_of_exactly_this_tree(gated, tmp_path):
    target = ("--skip-gate-run", "--target", str(tmp_path / "bucket"))
    assert sh(gated, "./sync_dags.sh", *target).returncode == REFUSED

    tests = sh(gated, "./run_tests.sh")
    assert tests.returncode == 0, tests.stdout
    assert stamp.read(gated)["tree"] == stamp.tree_hash(gated) and stamp.read(gated)["mode"] == "full"
    assert sh(gated, "./sync_dags.sh", *target).returncode == 0

    (gated / "dags/redshift__01_first.py").write_text("FIRST = 2\n")
    commit_all(gated, "an untested change")
    stale = sh(gated, "./sync_dags.sh", *target)

    assert stale.returncode == REFUSED
    assert "no green ./run_tests.sh run recorded for this tree" in stale.stderr
    assert (tmp_path / "bucket/dags/redshift__01_first.py").read_text() == "FIRST = 1\n"


OTHER_TEST = "def test_xcom_payload():\n    assert True\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, addopts",
    [
        ("--fast", "-k x"),
        ("--fast", "--deselect tests/test_other.py::test_xcom_payload"),
        ("--fast", "tests/test_release.py"),
        ("--fast", "--ignore=tests/test_other.py"),
        ("--fast", "--collect-only"),
        ("--full", "-m 'not other'"),
        ("--fast", "-W ignore::DeprecationWarning"),  # not narrowed, but weaker than the gate
    ],
)
def test_a_run_narrowed_through_pytest_addopts_stamps_nothing(gated, mode, addopts):
    (gated / "tests/test_other.py").write_text(OTHER_TEST)
    commit_all(gated, "a second test")

    done = sh(gated, "./run_tests.sh", *([mode] if mode == "--fast" else []), env={"PYTEST_ADDOPTS": addopts})

    assert done.returncode == 0, done.stdout + done.stderr
    assert stamp.read(gated) == {}
    assert "gate stamp: not recorded" in done.stdout and "narrowed" in done.stdout


@pytest.mark.slow
def test_a_run_reporting_deprecations_instead_of_failing_stamps_nothing(gated):
    done = sh(gated, "./run_tests.sh", "--fast", env={REPORT_DEPRECATIONS_ENV: "1"})

    assert done.returncode == 0, done.stdout + done.stderr
    assert stamp.read(gated) == {}
    assert f"deprecations reported, not errors ({REPORT_DEPRECATIONS_ENV} is set)" in done.stdout


@pytest.mark.slow
def test_narrowing_committed_in_the_pytest_configuration_stamps_nothing(gated):
    (gated / "tests/test_other.py").write_text(OTHER_TEST)
    (gated / "pyproject.toml").write_text(
        '[tool.black]\nline-length = 110\n\n[tool.pytest.ini_options]\naddopts = "-k release"\n'
    )
    commit_all(gated, "a narrowed default")

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 0, done.stdout + done.stderr
    assert stamp.read(gated) == {} and "-k 'release'" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("arguments", [("-k", "release"), ("tests/test_release.py",)])
def test_a_run_narrowed_by_arguments_stamps_nothing(gated, arguments):
    done = sh(gated, "./run_tests.sh", "--fast", *arguments)

    assert done.returncode == 0, done.stdout
    assert stamp.read(gated) == {}


@pytest.mark.slow
def test_fast_all_after_a_green_run_and_a_change_tests_everything_and_stamps(gated):
    """What the sync runs when its stamp is older than the tree: every fast test, which stamps the tree."""
    assert sh(gated, "./run_tests.sh", "--fast").returncode == 0
    first = stamp.read(gated)
    (gated / "dags/redshift__01_first.py").write_text("FIRST = 2\n")

    done = sh(gated, "./run_tests.sh", "--fast", "--all")

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("== pytest (fast: not slow) ==\n"), done.stdout  # no choice by change
    assert "bringing up nodes..." in done.stdout  # the whole selection, on pytest-xdist's workers
    assert stamp.read(gated)["tree"] == stamp.tree_hash(gated) != first["tree"]

    (gated / "dags/redshift__01_first.py").write_text("FIRST = 3\n")
    chosen = sh(gated, "./run_tests.sh", "--fast")  # this small repository has no gate.affected

    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert chosen.stdout.startswith(
        "== --fast: testing everything: python -m gate.affected failed (build/test-logs/since-green) ==\n"
    ), chosen.stdout
    assert "No module named gate.affected" in (gated / "build/test-logs/since-green").read_text()
    assert stamp.read(gated)["tree"] == stamp.tree_hash(gated)

    narrowed = sh(gated, "./run_tests.sh", "--fast", "tests/test_release.py")

    assert narrowed.returncode == 0, narrowed.stdout + narrowed.stderr
    assert "bringing up nodes..." not in narrowed.stdout  # a few tests: one process


def test_tree_hash_covers_the_working_tree_and_leaves_the_index_alone(project):
    head_tree = git(project, "rev-parse", "HEAD^{tree}").strip()
    assert stamp.tree_hash(project) == head_tree

    (project / "dags/redshift__01_first.py").write_text("FIRST = 'edited'\n")
    edited = stamp.tree_hash(project)
    (project / "dags/redshift__03_new.py").write_text("NEW = 3\n")
    with_new_file = stamp.tree_hash(project)
    (project / "build").mkdir()
    (project / "build/ignored.txt").write_text("git ignores build/\n")

    assert len({head_tree, edited, with_new_file}) == 3
    assert stamp.tree_hash(project) == with_new_file
    assert git(project, "diff", "--cached", "--name-only") == ""  # nothing was staged in the real index


@pytest.mark.slow
def test_a_failing_run_lists_the_dag_gate_first_and_a_broken_module_stops_nothing(gated):
    (gated / "tests/dags").mkdir(parents=True)
    (gated / "tests/test_aaa_other.py").write_text("def test_other_suite():\n    assert 1 == 2\n")
    (gated / "tests/test_broken_module.py").write_text("import no_such_module  # noqa: F401\n")
    (gated / "tests/dags/test_dags_load.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.dag_gate(rank=0)\n\n\n"
        'def test_bag_is_not_empty():\n    assert [], "no DAG loaded"\n'
    )

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 1
    summary = done.stdout.split("== gate summary ==")[1].splitlines()
    assert "  ok      flake8" in summary and "  ok      black --check" in summary
    causes = summary[summary.index("  FAILED  pytest (fast: not slow)") + 1 :]
    assert causes == [
        "pytest: 2 failed, 1 errors, 1 passed",
        "  DAG files that do not import:",
        "    no DAG loaded",
        "  Other failures:",
        "    ERROR tests/test_broken_module.py - ModuleNotFoundError: No module named 'no_such_module'",
        # ran despite the broken module
        "    FAILED tests/test_aaa_other.py::test_other_suite - assert 1 == 2",
        "Fix: the causes above, in order; the whole log: build/test-logs/pytest.log",
    ], "\n".join(summary)
    assert (
        "test_release_is_good" in (gated / "build/test-logs/pytest.log").read_text()
        or "passed" in done.stdout
    )


def test_a_tree_that_changed_since_its_tests_is_not_stamped(project):
    tested = stamp.tree_hash(project)
    (project / "dags/redshift__01_first.py").write_text("EDITED = 1\n")  # an edit while the tests ran

    assert stamp.write(project, tested, "full") is False
    assert stamp.read(project) == {}


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_index_flags_do_not_hide_an_edit_from_the_stamp(project, tmp_path, flag):
    tested = stamp.tree_hash(project)
    assert stamp.write(project, tested, "full")
    git(project, "update-index", flag, "dags/redshift__01_first.py")
    (project / "dags/redshift__01_first.py").write_text("BROKEN = (\n")
    assert git(project, "status", "--porcelain") == ""  # git itself no longer reports the edit

    edited = stamp.tree_hash(project)
    refused = main(["--skip-gate-run", "--target", str(tmp_path / "bucket"), "--repo", str(project)])

    assert edited != tested
    assert bundling.build(project, tree=edited)["dags/redshift__01_first.py"].data == b"BROKEN = (\n"
    assert refused == REFUSED and not (tmp_path / "bucket").exists()


def test_an_edit_with_size_and_mtime_restored_still_changes_the_hash(project):
    # A stat cache trusted without ctime and inode (core.checkStat=minimal) cannot see a same-size edit
    # whose mtime is put back; the scratch index has no stat data to trust.
    git(project, "config", "core.trustctime", "false")
    git(project, "config", "core.checkStat", "minimal")
    path = project / "dags/redshift__01_first.py"
    os.utime(path, (1_600_000_000, 1_600_000_000))  # older than the index: not "racily clean"
    git(project, "update-index", "--refresh")
    tested = stamp.tree_hash(project)
    before = path.stat()
    path.write_text("FIRST = 7\n")  # same size as "FIRST = 1\n"
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert git(project, "status", "--porcelain") == ""  # git's own view is fooled

    assert stamp.tree_hash(project) != tested


def test_tree_hash_keeps_tracked_files_that_gitignore_matches(project):
    (project / "dags/hudi/schemas/extra.avsc").write_text("{}\n")
    git(project, "add", "-f", "dags/hudi/schemas/extra.avsc")
    git(project, "commit", "-q", "-m", "a tracked file .gitignore will match")
    (project / ".gitignore").write_text("build/\n__pycache__/\n*.pyc\n*.avsc\n")
    commit_all(project, "ignore avsc")

    assert stamp.tree_hash(project) == git(project, "rev-parse", "HEAD^{tree}").strip()


@pytest.mark.parametrize("name", [".venv", "build"])
def test_the_repository_gitignore_ignores_a_symlinked_venv_or_build_folder(project, name):
    shutil.copyfile(repository.ROOT / ".gitignore", project / ".gitignore")
    commit_all(project, "the repository's .gitignore")
    (project / name).symlink_to(project / "elsewhere")

    assert git(project, "status", "--porcelain") == ""
    assert stamp.tree_hash(project) == git(project, "rev-parse", "HEAD^{tree}").strip()


@pytest.mark.parametrize("carried", ["a build symlink", "a file forced past .gitignore"])
@pytest.mark.parametrize("command", [["./run_tests.sh", "--fast"], ["./sync_dags.sh", "--dry-run"]])
def test_a_tree_carrying_build_is_refused_before_anything_is_written(gated, tmp_path, carried, command):
    """build/ holds this machine's logs, caches and green-run stamp: one the tree carries is refused, not
    written through (a symlink `git add -A` takes under the old `build/` pattern) or trusted."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if carried == "a build symlink":
        (gated / "build").symlink_to(elsewhere)
        expected = "build"
    else:
        (gated / "build/test-gate").mkdir(parents=True)
        (gated / "build/test-gate/passed-tree").write_text("{}\n")
        expected = "build/test-gate/passed-tree"
    git(gated, "add", "-f", "build")
    git(gated, "commit", "-q", "--no-verify", "-m", "carries build")

    done = sh(gated, *command)

    assert done.returncode == 1, done.stdout
    assert done.stderr.splitlines()[0].startswith(
        f"error: {expected} is committed in this checkout"
    ), done.stderr
    assert done.stderr.rstrip().endswith("Fix: git rm -r -q --cached build && git commit -m 'Untrack build'")
    assert list(elsewhere.iterdir()) == [] and not (gated / "build/test-logs").exists()
    # The fix works as printed.
    subprocess.run(done.stderr.rstrip().rsplit("Fix: ", 1)[1], shell=True, cwd=gated, check=True)
    assert git(gated, "ls-files", "build") == ""


FAKE_ACCESS_KEY_ID = "AKIA" + "QWERTYUIOPASDFGH"  # built at run time: this file holds no key-shaped literal


@pytest.mark.slow
def test_a_key_committed_without_the_hook_fails_the_gate(gated):
    (gated / "dags/settings.py").write_text(f'ACCESS_KEY_ID = "{FAKE_ACCESS_KEY_ID}"\n')
    git(gated, "add", "-A")
    git(gated, "commit", "-q", "--no-verify", "-m", "a key")

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 1, done.stdout
    assert "  dags/settings.py:1: AWS Access Key" in done.stdout
    assert "FAILED  secret scan" in done.stdout and stamp.read(gated) == {}
    footer = done.stdout.split("== gate summary ==")[-1]
    assert "  secret scan: dags/settings.py:1: AWS Access Key" in footer
    assert "Fix: remove the credential (and rotate it if it was ever pushed)" in footer


@pytest.mark.slow
def test_checks_run_beside_pytest_fail_the_gate_each_shown_once_in_the_summary_s_order(gated):
    """flake8, black, ruff and the secret scan run while pytest does: their failures still count, their
    output comes after pytest's, in a fixed order, and nothing is stamped."""
    (gated / "dags/redshift__01_first.py").write_text("import os\nFIRST=1\n")
    commit_all(gated, "an unused import, unformatted")

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 1, done.stdout
    output, summary = done.stdout.split("== gate summary ==")
    assert summary.splitlines()[1:6] == [
        "  FAILED  flake8",
        "  FAILED  black --check",
        "  ok      ruff (Airflow rules)",
        "  ok      secret scan",
        "  ok      pytest (fast: not slow)",
    ]
    headers = [line for line in output.splitlines() if line.startswith("== ")]
    assert headers == [
        "== pytest (fast: not slow) ==",
        "== flake8 ==",
        "== black --check ==",
        "== ruff (Airflow rules) ==",
        "== secret scan ==",
    ]
    assert output.count("F401 'os' imported but unused") == 1
    assert "would reformat" in output and stamp.read(gated) == {}


@pytest.mark.slow
def test_a_test_module_left_out_of_collection_stamps_nothing(gated):
    (gated / "tests/test_other.py").write_text(OTHER_TEST)
    (gated / "tests/conftest.py").write_text('collect_ignore = ["test_other.py"]\n')
    commit_all(gated, "a test module nobody runs")

    done = sh(gated, "./run_tests.sh", "--fast")

    assert done.returncode == 0, done.stdout + done.stderr
    assert stamp.read(gated) == {} and "tests/test_other.py" in done.stdout


def stamp_command(repo: Path, monkeypatch, *argv: str) -> int:
    """`python -m deploy.stamp ARGV` as ./run_tests.sh runs it: in the repository."""
    monkeypatch.chdir(repo)
    return stamp.main(list(argv))


def test_the_stamp_command_records_a_whole_run_and_says_so(project, tmp_path, monkeypatch, capsys):
    assert stamp_command(project, monkeypatch, "tree") == 0
    tree = capsys.readouterr().out.strip()
    report = tmp_path / "selection"
    report.write_text("whole fast\n")

    assert stamp_command(project, monkeypatch, "write", tree, "fast", str(report)) == 0

    assert capsys.readouterr().out == (
        f"gate stamp: tree {tree[:12]} passed (fast), recorded in build/test-gate/passed-tree\n"
    )
    assert stamp.read(project)["tree"] == tree and stamp.read(project)["mode"] == "fast"


def test_the_stamp_command_outside_a_git_checkout_fails_with_git_s_reason(tmp_path, monkeypatch, capsys):
    assert stamp_command(tmp_path, monkeypatch, "tree") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("gate stamp: git rev-parse ")
    assert "not a git repository" in captured.err


@pytest.mark.parametrize(
    "argv", [[], ["write", "abc", "fast"], ["stamp"], ["stamp", "abc", "fast", "report"]]
)
def test_the_stamp_command_given_wrong_arguments_shows_its_usage_and_exits_2(
    project, monkeypatch, capsys, argv
):
    assert stamp_command(project, monkeypatch, *argv) == 2
    assert "python -m deploy.stamp write HASH MODE REPORT" in capsys.readouterr().err
    assert stamp.read(project) == {}


def selection_report(repo: Path, *pytest_args: str) -> str:
    """The selection verdict of pytest -m "not slow" ARGS in `repo`, run as ./run_tests.sh --fast runs it."""
    report = repo / "selection-report"
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in (REPORT_DEPRECATIONS_ENV, "PYTEST_ADDOPTS") and not name.startswith("LAKEHOUSE_GATE")
    }
    env = {
        **inherited,
        "PYTHONPATH": str(repository.ROOT / "tools"),
        "LAKEHOUSE_GATE_MODE": "fast",
        "LAKEHOUSE_GATE_SELECTION": str(report),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "deploy.selection", "-m", "not slow", *pytest_args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return report.read_text().strip()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]])  # in this process; in pytest-xdist's workers
def test_a_whole_fast_run_skips_slow_tests_skipped_tests_and_folders_pytest_does_not_enter(tmp_path, workers):
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\nmarkers = ["slow: slow"]\n',
            "tests/test_one.py": "def test_one():\n    pass\n",
            "tests/test_slow.py": "import pytest\n\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n",
            "tests/test_skipped.py": "import pytest\n\n\n@pytest.mark.skip\ndef test_skipped():\n    pass\n",
            "tests/build/test_built.py": "def test_built():\n    pass\n",  # norecursedirs: build
            "tests/deep/.cache/test_cached.py": "def test_cached():\n    pass\n",  # norecursedirs: .*
        },
    )

    assert selection_report(repo, *workers) == "whole fast"
    assert selection_report(repo, "-k", "one", *workers).startswith(
        "narrowed fast: -k 'one'; deselected by other than the mode's -m: "
    )


def test_a_run_cut_short_with_a_green_exit_is_narrowed(tmp_path):
    stops = "import pytest\n\n\ndef test_stops():\n    pytest.exit('stopped', returncode=0)\n"
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
            "tests/test_a_stops.py": stops,
            "tests/test_b_never_runs.py": "def test_never_runs():\n    pass\n",
        },
    )

    assert selection_report(repo) == "narrowed fast: tests run: 0 of 2 collected"


@pytest.mark.parametrize(
    "arguments, reason",
    [
        (["tests/test_one.py"], "test paths tests/test_one.py"),
        (["--deselect", "tests/test_two.py::test_two"], "--deselect tests/test_two.py::test_two"),
        (["-p", "cacheprovider", "--last-failed"], "--last-failed"),
        (["-W", "ignore::DeprecationWarning"], "-W ignore::DeprecationWarning"),
    ],
)
def test_a_narrowed_run_names_how_it_was_narrowed(tmp_path, arguments, reason):
    repo = make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
            "tests/test_one.py": "def test_one():\n    pass\n",
            "tests/test_two.py": "def test_two():\n    pass\n",
        },
    )

    assert selection_report(repo, *arguments).startswith(f"narrowed fast: {reason}")


def test_a_module_left_out_after_a_folder_pytest_does_not_enter_is_still_missed(tmp_path):
    """Every folder is looked through: the first skipped one (build/) stops nothing."""
    files = {
        "tests/conftest.py": "",
        "tests/build/test_skipped.py": "def test_skipped():\n    pass\n",
        "tests/d1/deeper/test_m1.py": "def test_m1():\n    pass\n",
        "tests/d2/deeper/test_m2.py": "def test_m2():\n    pass\n",
    }
    repo = make_repo(
        tmp_path / "repo", {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', **files}
    )
    # pathlib (Python 3.12) walks folders level by level: tests/build/ comes before */deeper/; leave out the
    # module walked last
    walked = [path.relative_to(repo / "tests").as_posix() for path in (repo / "tests").rglob("test_m*.py")]
    (repo / "tests/conftest.py").write_text(f"collect_ignore = [{walked[-1]!r}]\n")

    assert selection_report(repo) == f"narrowed fast: test modules not collected: tests/{walked[-1]}"


def test_the_selection_plugin_loads_in_a_pytest_without_xdist(tmp_path):
    """Its xdist hook is optional: `pytest -p no:xdist -p deploy.selection` (a debugging run) still starts."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(repository.TOOLS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *"-p no:xdist -p deploy.selection -p no:cacheprovider".split(),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
