"""gate.affected: the DAGs a change affects, or every DAG when the record cannot say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy import stamp
from gate import inventory
from tests.deploy.support import make_repo
from gate.affected import EVERY_DAG, affected, changed_between, main, since_green

LISTED = inventory.read_all()


@pytest.fixture(scope="module")
def reads(loaded):
    """The record the session's parse of dags/ wrote (gate.loader.write_reads)."""
    from gate.loader import READS_FILE

    return json.loads(READS_FILE.read_text())


def dag_files() -> set[str]:
    return {f"dags/{file}" for file in LISTED.values()}


@pytest.fixture
def record(reads, tmp_path):
    """That record in a file of its own, as the pre-push hook copies it into its checkout."""
    path = tmp_path / "dag-reads.json"
    path.write_text(json.dumps(reads))
    return path


def test_the_parse_records_what_each_dag_file_read(reads):
    assert set(reads) == dag_files()
    assert "sql/redshift/ddl/event.sql" in reads["dags/redshift__01_create_tables.py"]
    assert "dags/hudi/tables.yaml" in reads["dags/hudi__01_initial_load.py"]
    assert not [path for files in reads.values() for path in files if not path.startswith(("dags/", "sql/"))]


def test_a_dag_file_or_a_file_it_reads_affects_only_the_dags_that_read_it(reads):
    present = dag_files()
    assert affected(["dags/redshift__01_create_tables.py"], reads, present)[0] == [
        "redshift__01_create_tables"
    ]
    assert affected(["sql/redshift/ddl/schema.sql"], reads, present)[0] == ["redshift__01_create_tables"]
    # A table's DDL is read by every DAG that loads the Redshift table spec (it checks the columns), whatever
    # DAGs are added that read the spec too.
    redshift_spec_dags = spec_readers(reads, "dags/redshift/tables.yaml")
    assert {
        "datalake__01_tickit_refine",
        "redshift__01_create_tables",
        "redshift__02_initial_load",
        "redshift__03_incremental_load",
        "redshift__04_unload_sales_by_category",
    } <= set(redshift_spec_dags)
    assert affected(["sql/redshift/ddl/event.sql"], reads, present)[0] == redshift_spec_dags
    hudi_spec_dags = spec_readers(reads, "dags/hudi/tables.yaml")
    assert {"hudi__01_initial_load", "hudi__02_incremental_upsert"} <= set(hudi_spec_dags)
    assert affected(["dags/hudi/tables.yaml"], reads, present)[0] == hudi_spec_dags


def spec_readers(reads: dict[str, list[str]], spec: str) -> list[str]:
    """The DAG ids whose file read `spec` when parsed, in order."""
    by_file = {f"dags/{file}": dag_id for dag_id, file in LISTED.items()}
    return sorted(by_file[file] for file, files in reads.items() if spec in files)


@pytest.mark.parametrize(
    "changed, why",
    [
        (["plugins/lakehouse/redshift.py"], "plugins/lakehouse/redshift.py is not a DAG"),
        (["sql/redshift/ddl/event.sql", "tools/gate/rules.py"], "tools/gate/rules.py is not a DAG"),
        (["sql/redshift/ddl/new_table.sql"], "no DAG is recorded reading sql/redshift/ddl/new_table.sql"),
        (
            ["dags/redshift/columns.py"],
            "no DAG is recorded reading dags/redshift/columns.py",
        ),  # not a DAG file
        ([], "no file changed"),
    ],
)
def test_what_the_record_cannot_place_tests_every_dag(reads, changed, why):
    dags, reason = affected(changed, reads, dag_files() | set(changed))
    assert dags is None and reason.startswith(why), reason


def test_a_deleted_dag_file_or_a_record_of_a_few_dags_tests_every_dag(reads):
    assert affected(["dags/redshift__01_create_tables.py"], reads, set())[0] is None
    partial = {"dags/redshift__01_create_tables.py": reads["dags/redshift__01_create_tables.py"]}
    dags, why = affected(["sql/redshift/ddl/event.sql"], partial, dag_files())
    unrecorded = sorted(f"dags/{file}" for file in inventory.read_all().values())
    unrecorded.remove("dags/redshift__01_create_tables.py")
    assert len(unrecorded) > 1  # the message names the first of several, in order
    assert dags is None and why == f"no record of what {unrecorded[0]} reads"


def test_more_than_the_limit_of_dags_tests_every_dag(reads, monkeypatch):
    """The limit docs/dag-loop.md gives: up to 20 DAGs are tested one by one, 21 mean the whole gate."""
    many = {f"dags/redshift__{n:03d}_x.py": [] for n in range(21)}
    monkeypatch.setattr(inventory, "read_all", lambda: {p[5:-3]: p[5:] for p in many})
    at_the_limit = affected(sorted(many)[:20], many, set(many))[0]
    assert at_the_limit == [f"redshift__{n:03d}_x" for n in range(20)]
    assert affected(sorted(many), many, set(many)) == (None, "21 DAGs are affected")


def test_no_record_exits_with_every_dag(tmp_path, capsys):
    assert main([str(tmp_path / "none.json"), "sql/x.sql"]) == EVERY_DAG
    assert capsys.readouterr().out.startswith("every DAG: no record")


def test_the_command_prints_the_dags_a_pushed_change_affects(record, monkeypatch, capsys, repo_root):
    """As the pre-push hook runs it: the record first, then the changed paths, from the checkout's root."""
    monkeypatch.chdir(repo_root)

    status = main([str(record), "sql/redshift/ddl/schema.sql", "dags/redshift__01_create_tables.py"])

    assert (status, capsys.readouterr().out) == (0, "redshift__01_create_tables\n")


def test_a_python_file_in_a_dag_subfolder_is_no_dag_but_a_file_dags_read(monkeypatch):
    monkeypatch.setattr(inventory, "read_all", lambda: {"redshift__09_x": "redshift__09_x.py"})
    reads = {"dags/redshift__09_x.py": ["dags/glue_scripts/helper.py"]}
    present = {"dags/redshift__09_x.py", "dags/glue_scripts/helper.py"}

    assert affected(["dags/glue_scripts/helper.py"], reads, present) == (
        ["redshift__09_x"],
        "dags/glue_scripts/helper.py",
    )


def test_a_dag_is_named_by_its_inventory_id_not_its_file_name(monkeypatch):
    monkeypatch.setattr(inventory, "read_all", lambda: {"redshift__09_new_name": "redshift__09_old_name.py"})
    reads = {"dags/redshift__09_old_name.py": ["sql/redshift/x.sql"]}
    present = {"dags/redshift__09_old_name.py"}

    assert affected(["dags/redshift__09_old_name.py"], reads, present)[0] == ["redshift__09_new_name"]
    assert affected(["sql/redshift/x.sql"], reads, present)[0] == ["redshift__09_new_name"]


def test_without_arguments_the_command_prints_its_usage(capsys):
    assert main([]) == 2
    assert capsys.readouterr().err == "usage: python -m gate.affected READS_FILE [CHANGED_PATH...]\n"


def test_a_pushed_change_deleting_a_dag_file_tests_every_dag(record, monkeypatch, capsys, repo_root):
    monkeypatch.chdir(repo_root)

    status = main([str(record), "dags/redshift__01_create_tables.py", "dags/redshift__99_removed.py"])

    assert (status, capsys.readouterr().out) == (
        EVERY_DAG,
        "every DAG: dags/redshift__99_removed.py was deleted\n",
    )


def test_the_command_prints_each_affected_dag_once_in_order(record, monkeypatch, capsys, repo_root):
    """Every changed path counts, the first one too; the DAGs come out sorted, not in the order given."""
    monkeypatch.chdir(repo_root)

    status = main([str(record), "sql/redshift/ddl/schema.sql", "dags/hudi__01_initial_load.py"])

    assert (status, capsys.readouterr().out) == (0, "hudi__01_initial_load\nredshift__01_create_tables\n")


def test_every_dag_is_exit_status_3_and_a_usage_error_is_2(tmp_path, capsys):
    """run_tests.sh tells "test everything" (`[ $? -eq 3 ]`) from a failed command by the exit status."""
    assert main([str(tmp_path / "none.json")]) == 3
    capsys.readouterr()
    assert main([]) == 2
    assert capsys.readouterr().err == "usage: python -m gate.affected READS_FILE [CHANGED_PATH...]\n"


def test_the_module_runs_as_the_pre_push_hook_calls_it(record, repo_root):
    """`python -m gate.affected READS CHANGED...` from the checkout's root, as hooks/pre-push runs it."""
    env = {**os.environ, "PYTHONPATH": f"{repo_root}/tools:{repo_root}/plugins"}

    done = subprocess.run(
        [sys.executable, "-m", "gate.affected", str(record), "sql/redshift/ddl/schema.sql"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
    )

    assert (done.returncode, done.stdout) == (0, "redshift__01_create_tables\n"), done.stderr


def test_the_change_between_two_trees_lists_each_path_in_order_and_the_deleted_ones(tmp_path):
    root = make_repo(tmp_path / "repo", {"a.sql": "one\n", "b.sql": "two\n", "same.sql": "same\n"})
    base = stamp.tree_hash(root)
    (root / "a.sql").unlink()
    (root / "b.sql").write_text("owt\n")  # a same-size edit
    (root / "c d.sql").write_text("new\n")  # a name with a space

    assert changed_between(base, stamp.tree_hash(root), root) == (["a.sql", "b.sql", "c d.sql"], {"a.sql"})
    assert changed_between("0" * 40, base, root) is None


@pytest.fixture
def green(tmp_path, record):
    """A repository with real DAG and SQL paths whose tree passed the gate; the record of what DAGs read."""
    files = {f"dags/{file}": "# a DAG\n" for file in LISTED.values()}
    files |= {"sql/redshift/ddl/schema.sql": "ddl\n", ".gitignore": "build/\n"}
    root = make_repo(tmp_path / "repo", files)
    assert stamp.write(root, stamp.tree_hash(root), "fast")
    return root, record


def green_run(root) -> str:
    passed = stamp.read(root)
    return f"the green fast run of tree {passed['tree'][:12]} ({passed['at']})"


def test_a_change_since_the_green_run_to_what_dags_read_tests_only_those_dags(green):
    root, record = green
    (root / "sql/redshift/ddl/schema.sql").write_text("DDL\n")

    assert since_green(stamp.tree_hash(root), record, root) == (
        ["redshift__01_create_tables"],
        f"only sql/redshift/ddl/schema.sql changed since {green_run(root)}",
    )


def test_the_reason_names_three_changed_files_and_counts_the_rest(green):
    root, record = green
    dag_files = sorted(f"dags/{file}" for file in LISTED.values())[:4]
    for path in dag_files[:3]:
        (root / path).write_text("# a changed DAG\n")
    three = since_green(stamp.tree_hash(root), record, root)
    (root / dag_files[3]).write_text("# a changed DAG\n")
    four = since_green(stamp.tree_hash(root), record, root)

    assert three[1] == f"only {' '.join(dag_files[:3])} changed since {green_run(root)}"
    assert four[1] == f"only {' '.join(dag_files[:3])} and 1 more changed since {green_run(root)}"
    assert four[0] == sorted(Path(path).stem for path in dag_files)


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda root: None, "nothing changed since the green fast run of tree "),
        (
            lambda root: (root / "dags/redshift__01_create_tables.py").unlink(),
            "dags/redshift__01_create_tables.py was deleted",
        ),
        (
            lambda root: (root / "plugins").mkdir() or (root / "plugins/x.py").write_text(""),
            "plugins/x.py is not a DAG",
        ),
        (
            lambda root: (root / "build/test-gate/passed-tree").unlink(),
            "no green run recorded (build/test-gate/passed-tree)",
        ),
        (
            lambda root: (root / "build/test-gate/passed-tree").write_text(f"tree {'0' * 40}\n"),
            "git does not have the tree of the last green run (000000000000)",
        ),
    ],
    ids=["unchanged", "deleted-dag", "plugins", "no-green-run", "tree-unknown-to-git"],
)
def test_what_the_change_since_the_green_run_cannot_place_tests_everything(green, change, why):
    root, record = green
    change(root)
    dags, reason = since_green(stamp.tree_hash(root), record, root)
    assert dags is None and reason.startswith(why), reason


def test_without_a_record_of_what_dags_read_everything_is_tested(green):
    root, record = green
    record.unlink()
    assert since_green(stamp.tree_hash(root), record, root) == (
        None,
        "no record of what the DAGs read (dag-reads.json)",
    )
