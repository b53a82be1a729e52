"""The structure snapshot: what it records per DAG, the drift message, and the older format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from airflow.timetables.interval import DeltaDataIntervalTimetable

from gate import inventory
from gate.loader import load
from tests.deploy.support import commit_all, make_repo

SHIPPED = "redshift__04_unload_sales_by_category.py"
DAG_ID = "redshift__04_unload_sales_by_category"
ANCHOR = "    clear_unload_prefix >> unload\n"
ADDED_TASK = (
    ANCHOR + '    notify = clear_s3_prefix("clear_again", layout.UNLOAD_PREFIX)\n    unload >> notify\n'
)


def test_a_dag_is_recorded_with_tasks_edges_schedule_and_assets(loaded):
    entry = inventory.snapshot(loaded)[DAG_ID]
    assert entry["file"] == SHIPPED
    assert entry["tasks"] == ["clear_unload_prefix", "unload_sales_by_category"]
    assert entry["edges"] == ["clear_unload_prefix -> unload_sales_by_category"]
    assert entry["schedule"] == "on assets `redshift_tickit_loaded`"
    assert (entry["consumes"], entry["produces"]) == (
        ["redshift_tickit_loaded"],
        ["s3_tickit_sales_by_category"],
    )
    assert entry["timetable"]["__type"] == "airflow.timetables.simple.AssetTriggeredTimetable"
    assert (entry["start_date"], entry["end_date"], entry["catchup"]) == (
        "2024-01-01T00:00:00+00:00",
        None,
        False,
    )


def test_the_checked_in_snapshot_is_the_repository_s(loaded):
    assert inventory.read_snapshot() == inventory.snapshot(loaded)
    assert inventory.read() == inventory.current(loaded)


def test_adding_a_task_fails_with_what_was_added_and_the_refresh_command(tmp_path, repo_root):
    original = (repo_root / "dags" / SHIPPED).read_text()
    assert ANCHOR in original, f"{SHIPPED} no longer contains {ANCHOR!r}: update the test"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / SHIPPED).write_text(original.replace(ANCHOR, ADDED_TASK))
    (tmp_path / "sql").symlink_to(repo_root / "sql")
    for spec_folder in ("redshift", "hudi"):  # the table specs the DAG files read
        (tmp_path / "dags" / spec_folder).symlink_to(repo_root / "dags" / spec_folder)
    recorded = {DAG_ID: inventory.read_snapshot()[DAG_ID]}

    message = inventory.drift_message(recorded, inventory.snapshot(load(tmp_path / "dags")))

    assert message.splitlines() == [
        f"inventory: the DAGs differ from the structure recorded in {inventory.INVENTORY_FILE}:",
        f"  {DAG_ID}: tasks added: clear_again; edges added: unload_sales_by_category -> clear_again",
        "Fix: ./run_tests.sh --update-inventory (rewrites it and docs/dags.md), then review and commit the "
        "diff.",
    ]


def test_drift_names_removed_tasks_edges_assets_and_the_schedule():
    old = {
        "d": {
            "tasks": ["a", "b"],
            "edges": ["a -> b"],
            "consumes": [],
            "produces": ["x"],
            "schedule": "manual (no schedule)",
            "catchup": False,
        }
    }
    new = {
        "d": {
            "tasks": ["a"],
            "edges": [],
            "consumes": ["y"],
            "produces": [],
            "schedule": "on assets `y`",
            "catchup": True,
        }
    }
    assert inventory.drift(old, new) == [
        "d: tasks removed: b; edges removed: a -> b; consumes added: y; produces removed: x; "
        "schedule: manual (no schedule) -> on assets `y`; catchup: False -> True"
    ]
    assert inventory.drift(old, old) == []
    assert inventory.drift_message(old, old) == ""


def test_dags_on_one_side_only_are_not_drift():
    # Listed but not loaded, or loaded but not listed, are the inventory's own checks (test_dags_load.py).
    assert inventory.drift({"gone": {"tasks": ["a"]}}, {"new": {"tasks": ["b"]}}) == []


def test_the_older_format_reads_as_files_and_drifts_as_such(tmp_path):
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"d": "d.py"}))
    assert inventory.read(path) == {"d": "d.py"}
    assert inventory.read_snapshot(path) == {"d": {"file": "d.py"}}
    assert inventory.drift({"d": {"file": "d.py"}}, {"d": {"file": "d.py", "timetable": {}}}) == [
        "d: timetable settings changed"
    ]
    assert inventory.parse("") == {}


def test_a_folder_s_snapshot_is_made_once_and_shared(loaded):
    """The structure, catalogue and schedule checks share one snapshot of a parsed folder."""
    first = inventory.snapshot(loaded)
    assert inventory.snapshot(loaded) is first and set(first) == set(loaded.dags)


ONE_TASK_DAG = '''"""A DAG of one task."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="{dag_id}", schedule=None, doc_md=__doc__):
    EmptyOperator(task_id="nothing")
'''


@pytest.mark.slow  # two runs of the command, each importing Airflow
def test_update_inventory_prints_what_it_wrote_and_which_file_does_not_load_without_airflow_s_log(
    tmp_path, repo_root
):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "redshift__01_one_task.py").write_text(ONE_TASK_DAG.format(dag_id="redshift__01_one_task"))
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AIRFLOW") and not name.startswith("GATE_")
    }
    env.update(
        PYTHONPATH=f"{repo_root}/tools:{repo_root}/plugins:{repo_root}",
        GATE_DAGS_FOLDER=str(folder),
        GATE_INVENTORY_FILE=str(tmp_path / "inventory.json"),
        GATE_DAGS_DOC_FILE=str(tmp_path / "dags.md"),
    )

    def update():
        return subprocess.run(
            [sys.executable, "-m", "gate.inventory"], cwd=repo_root, env=env, capture_output=True, text=True
        )

    wrote = update()
    (folder / "redshift__02_broken.py").write_text("from airflow.sdk import DAG\nimport no_such_module\n")
    refused = update()

    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.splitlines()[0] == f"wrote {tmp_path}/inventory.json with 1 DAGs"
    assert wrote.stdout.splitlines()[-1] == f"wrote {tmp_path}/dags.md"
    assert "INFO" not in wrote.stdout + wrote.stderr  # Airflow's "Filling up the DagBag from ..."
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error: dags/redshift__02_broken.py does not load; fix it before writing the inventory:\n"
    ), refused.stderr
    assert "INFO" not in refused.stdout + refused.stderr


def test_a_ref_is_its_commit_id_and_an_unknown_or_empty_ref_is_none(repo_root):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD^{commit}"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.strip()

    assert inventory.commit_of("HEAD", repo_root) == head
    assert inventory.commit_of("refs/heads/no-such-branch-here", repo_root) is None
    assert inventory.commit_of("0" * 40, repo_root) is None and inventory.commit_of(None, repo_root) is None


def test_the_snapshot_recorded_at_a_commit_is_read_from_that_commit_and_none_is_empty(tmp_path):
    recorded = {DAG_ID: {"file": SHIPPED, "tasks": ["clear_unload_prefix"]}, "old_dag": "old_dag.py"}
    root = make_repo(tmp_path / "repo", {inventory.RECORDED_PATH: json.dumps(recorded)})
    first = inventory.commit_of("HEAD", root)
    (root / inventory.RECORDED_PATH).write_text("{}")
    commit_all(root, "every DAG removed")

    assert inventory.recorded_at(first, root) == {DAG_ID: recorded[DAG_ID], "old_dag": {"file": "old_dag.py"}}
    assert inventory.recorded_at(inventory.commit_of("HEAD", root), root) == {}
    assert inventory.recorded_at("0" * 40, root) == {}  # a commit git does not have: nothing recorded


def test_an_asset_condition_reads_with_and_or_and_parentheses_where_they_nest():
    from airflow.sdk import Asset, AssetAll, AssetAny

    a, b, c, d = (Asset(name, uri=f"s3://bucket/{name}/") for name in "abcd")

    assert inventory.condition_words(a & (b | c)) == "`a` and (`b` or `c`)"
    assert inventory.condition_words((a & b) | c) == "(`a` and `b`) or `c`"
    assert inventory.condition_words(a | (b & c & d)) == "`a` or (`b` and `c` and `d`)"
    # A nested condition of one asset needs no parentheses
    assert inventory.condition_words(AssetAll(a, AssetAny(b))) == "`a` and `b`"


@pytest.mark.parametrize(
    "schedule, words",
    [
        (timedelta(hours=6), "every 6:00:00 (at the time)"),  # Airflow 3's default for a timedelta
        (DeltaDataIntervalTimetable(timedelta(hours=6)), "every 6:00:00 (data intervals)"),
        ("0 3 * * *", "At 03:00 (cron `0 3 * * *` UTC, at the time)"),
        (None, "manual (no schedule)"),
        ("@once", "once, at the start date"),
        (
            "@continuous",
            "As frequently as possible, but only one run at a time. (ContinuousTimetable: @continuous)",
        ),
    ],
)
def test_a_schedule_reads_in_words_with_its_kind(schedule, words):
    from airflow.sdk import DAG

    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    dag = DAG("redshift__example", schedule=schedule, start_date=start, max_active_runs=1)  # 1: @continuous

    assert inventory.schedule_words(dag.timetable) == words


@pytest.mark.parametrize(
    "typo, best, other",
    [
        ("redshift__07_saless", "redshift__07_sales", "redshift__07_sale"),
        ("redshift__07_sal", "redshift__07_sale", "redshift__07_sales"),
    ],
)
def test_an_unknown_dag_id_with_two_close_names_names_both_and_the_closest_in_the_fix(
    tmp_path, typo, best, other
):
    for name in (best, other):
        (tmp_path / f"{name}.py").write_text("")

    assert inventory.check_ids([typo, best], tmp_path) == [
        f"error: no DAG '{typo}' in inventory.json or {tmp_path.name}/; did you mean '{best}' or '{other}'? "
        f"Fix: ./run_tests.sh --dag {best}"
    ]


def test_the_committed_inventory_is_written_as_the_update_writes_it():
    """So `--update-inventory` changes only the lines of what changed (a reviewer reads its diff)."""
    committed = inventory.INVENTORY_FILE.read_text()
    assert committed == inventory.render(inventory.read_snapshot())
    assert committed.startswith('{\n  "') and committed.endswith("}\n")


def test_updating_the_inventory_of_a_few_dags_is_refused_as_bad_usage(monkeypatch, capsys):
    """`--update-inventory` writes every DAG: under `--dag` it would drop the others from the file."""
    monkeypatch.setenv(inventory.SELECTED_DAGS, "redshift__01_create_tables")

    assert inventory.main([]) == 2
    assert capsys.readouterr().err == "error: --update-inventory writes every DAG; run it without --dag\n"


def test_the_inventory_is_written_with_dags_and_keys_in_order_whatever_order_they_were_found_in():
    """So a DAG found in another order (another file system, another parse) changes no line."""
    assert inventory.render({"b_dag": {"tasks": ["t"], "file": "b_dag.py"}, "a_dag": {}}) == (
        '{\n  "a_dag": {},\n  "b_dag": {\n    "file": "b_dag.py",\n    "tasks": [\n      "t"\n    ]\n  }\n}\n'
    )
