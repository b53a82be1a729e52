"""hooks/pre-push against a bare remote, in a clone of the whole project (the fast gate runs for real)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile

import pytest

import repository
from tests.hooks.conftest import Repo, init_repo

pytestmark = pytest.mark.slow

BROKEN_DAG = '''"""A DAG file whose import fails: it needs a module the plugins do not have."""

from airflow.sdk import DAG

from lakehouse.no_such_module import dag_settings

with DAG(schedule=None, **dag_settings()) as dag:
    pass
'''


@pytest.fixture(scope="module")
def remote(tmp_path_factory, git_env, repo_root):
    """A bare repository holding the project's last commit, with the hook files of this working tree."""
    base = tmp_path_factory.mktemp("pre-push")
    seed = init_repo(base / "seed", git_env)
    archive = subprocess.run(
        ["git", "-C", str(repo_root), "archive", "HEAD"], env=git_env, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(seed.path, filter="tar")
    repository.copy_hook_files(seed.path)
    seed.git("add", ".")
    seed.git("commit", "-q", "--no-verify", "-m", "project")
    bare = base / "remote.git"
    seed.git("init", "-q", "--bare", "-b", "main", str(bare))
    seed.git("push", "-q", "--no-verify", str(bare), "main")
    return bare


@pytest.fixture
def clone(remote, tmp_path, git_env) -> Repo:
    repo = Repo(tmp_path / "clone", git_env)
    Repo(tmp_path, git_env).git("clone", "-q", str(remote), str(repo.path))
    repo.run("hooks/install.sh")
    return repo


def remote_main(clone: Repo) -> str:
    return clone.git("ls-remote", "origin", "refs/heads/main").stdout.split()[0]


def record_what_dags_read(clone: Repo) -> None:
    """What each DAG file read, as this session's parse of the same DAGs recorded it."""
    from gate.loader import READS_FILE

    (clone.path / "build/test-gate").mkdir(parents=True)
    shutil.copy(READS_FILE, clone.path / "build/test-gate/dag-reads.json")


def with_a_syntax_error(sql: str) -> str:
    """The schema DDL (read by redshift__01 alone; a table's DDL is read by every DAG loading the table spec)
    with a syntax error."""
    return sql.replace("CREATE SCHEMA IF NOT EXISTS", "CREATE SCHEMA IF NOT EXISTS (")


def choice(output: str) -> tuple[list[str], list[str]]:
    """(the files, the DAGs) of the hook's line "the push changes FILES -> testing only the DAGs: DAGS"."""
    found = re.search(r"^pre-push: the push changes (.*) -> testing only the DAGs: (.*)$", output, re.M)
    assert found, output
    return found.group(1).split(), found.group(2).split()


def test_nothing_new_to_push_runs_no_tests(clone):
    clone.git("push", "origin", "main")
    # A new branch at a commit the remote already has: the hook runs and finds nothing new.
    output = clone.git("push", "origin", "main:refs/heads/release").output

    assert "pre-push: nothing new to push; tests not run" in output
    assert "gate summary" not in output
    assert not (clone.path / "build/test-logs").exists()
    assert clone.git("ls-remote", "origin", "refs/heads/release").stdout.split()[0] == clone.head()


def test_push_adding_a_broken_dag_is_rejected_and_the_remote_is_unchanged(clone):
    before = remote_main(clone)
    clone.write("dags/redshift__99_broken.py", BROKEN_DAG)
    clone.git("add", "dags/redshift__99_broken.py")
    clone.git("commit", "-q", "-m", "A broken DAG")

    result = clone.git("push", "origin", "main", check=False)
    output = result.output

    assert result.returncode != 0
    # A fresh clone has no record of what each DAG reads: the whole fast gate runs, and says why.
    assert (
        "pre-push: testing every DAG: no record of what the DAGs read "
        "(dag-reads.json: run ./run_tests.sh --fast once)\n"
    ) in output, output
    assert "running ./run_tests.sh --fast on" in output
    assert "redshift__99_broken" in output, output  # the gate names the file
    # A DAG file that does not import stops the fast gate after the DAG gate itself: the answer comes first.
    assert "other tests not run: redshift__99_broken.py does not import" in output, output
    assert "push blocked" in output
    assert "build/test-logs/pre-push-pytest.log" in output
    assert "git push --no-verify" in output
    assert remote_main(clone) == before
    assert (clone.path / "build/test-logs/pre-push-pytest.log").is_file()


def test_a_push_changing_one_dags_sql_tests_only_that_dag_names_the_file_and_passes_once_fixed(clone, loaded):
    record_what_dags_read(clone)
    schema = clone.path / "sql/redshift/ddl/schema.sql"
    good = schema.read_text()
    schema.write_text(with_a_syntax_error(good))
    clone.git("commit", "-q", "-am", "A typo in the schema DDL")

    blocked = clone.git("push", "origin", "main", check=False)
    summary = blocked.output.split("== gate summary ==")[-1]

    assert blocked.returncode != 0
    assert choice(blocked.output) == (["sql/redshift/ddl/schema.sql"], ["redshift__01_create_tables"])
    assert "running ./run_tests.sh --fast --dag redshift__01_create_tables on" in blocked.output
    assert re.search(
        r"sql/redshift/ddl/schema\.sql:1:\d+: redshift__01_create_tables\.create_schema_and_tables", summary
    ), summary
    assert not re.search(r"pre-push-\w{6}/", summary), summary  # no path of the temporary checkout
    assert "the whole log: build/test-logs/pre-push-pytest.log" in summary

    schema.write_text(good)
    clone.git("commit", "-q", "-am", "Fix the typo")
    passed = clone.git("push", "origin", "main").output

    assert choice(passed) == (["sql/redshift/ddl/schema.sql"], ["redshift__01_create_tables"])
    assert "all green for redshift__01_create_tables" in passed and "pre-push: gate passed" in passed
    assert remote_main(clone) == clone.head()


def test_a_dag_changed_only_in_a_merge_commit_is_tested_too(clone, loaded):
    """A merge that edits a file neither side changed (an "evil merge", or a conflict resolved by hand): git
    log lists no files for a merge commit; the change from the remote's commit to the pushed one has them."""
    record_what_dags_read(clone)
    clone.git("branch", "feature")
    clone.git("push", "-q", "--no-verify", "origin", "feature")
    unload = clone.path / "sql/redshift/unload/sales_by_category.sql"  # read by redshift__04 alone
    unload.write_text(unload.read_text() + "-- the remote's main moved on\n")
    clone.git("commit", "-q", "-am", "A comment in the unload SQL")
    clone.git("push", "-q", "--no-verify", "origin", "main")
    clone.git("checkout", "-q", "feature")
    clone.git("merge", "-q", "--no-ff", "--no-commit", "main")
    schema = clone.path / "sql/redshift/ddl/schema.sql"  # neither side changed it
    schema.write_text(with_a_syntax_error(schema.read_text()))
    clone.git("commit", "-q", "-am", "Merge main, with a typo")

    blocked = clone.git("push", "origin", "feature", check=False)

    assert blocked.returncode != 0, blocked.output
    assert choice(blocked.output) == (
        ["sql/redshift/ddl/schema.sql", "sql/redshift/unload/sales_by_category.sql"],
        ["redshift__01_create_tables", "redshift__04_unload_sales_by_category"],
    )
    assert "push blocked" in blocked.output
