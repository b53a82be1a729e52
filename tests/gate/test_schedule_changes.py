"""The schedule-change review on fixtures (tests/gate/schedule_changes/: the same DAGs before and after), its
counts checked against an independent replay with DAG.next_dagrun_info, its limits at the boundary, the
acknowledgements file, and the report."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from compat import airflow as airflow_compat
from gate import inventory, schedule_changes
from gate.loader import load
from gate.policy import load_policy

FIXTURES = Path(__file__).with_name("schedule_changes")


@pytest.fixture(scope="module")
def bags():
    base, head = load(FIXTURES / "base"), load(FIXTURES / "head")
    assert not base.bag.import_errors and not head.bag.import_errors
    assert sorted(base.dags) == sorted(head.dags)
    return base, head


@pytest.fixture(scope="module")
def snapshots(bags):
    return tuple(inventory.snapshot(loaded) for loaded in bags)


def review(snapshots, *dag_ids, acknowledged=None, policy=None, now=None):
    base, head = ({d: s[d] for d in dag_ids} for s in snapshots)
    now = now or pendulum.now("UTC")
    return schedule_changes.review(base, head, now, policy or load_policy(), acknowledged or {})


def replay(dag, now, unpause_cap: int, ahead_cap: int) -> tuple[int, int]:
    """The runs at unpause and over the next 7 days, by the methods of the DAG the scheduler holds (the
    serialized DAG: its own time restriction from start date, end date and catch-up), not the snapshot's."""
    dag = airflow_compat.scheduler_dag(dag)
    at_unpause, last = 0, None
    while at_unpause <= unpause_cap:
        info = airflow_compat.next_dagrun_info(dag, last)
        # with catch-up off, the timetable's own clock picked the latest interval: compare with that clock
        if info is None or info.run_after > max(now, pendulum.now("UTC")):
            break
        at_unpause, last = at_unpause + 1, info
    window = dag.iter_dagrun_infos_between(now, now + timedelta(days=7) - timedelta(microseconds=1))
    return at_unpause, len(list(itertools.islice(window, ahead_cap + 1)))


CASES = {
    "start_moved_back": ("start_moved_back",),
    "tightened_cron": ("tightened_cron",),
    "asset_renamed_by_its_producer": ("orders_producer", "orders_consumer"),
    "no_extra_run": ("moved_to_six",),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_computed_runs_match_an_independent_replay(bags, snapshots, case):
    now = pendulum.now("UTC")
    result = review(snapshots, *CASES[case], now=now)
    assert result.changes, case
    caps = schedule_changes.caps(load_policy())
    for change in result.changes:
        for loaded, runs in zip(bags, (change.runs_before, change.runs_after)):
            assert (runs.at_unpause, runs.next_days) == replay(
                loaded.dags[change.dag_id], now, *caps
            ), change.dag_id


def test_a_start_date_a_year_back_with_catch_up_is_refused(snapshots):
    (change,) = review(snapshots, "start_moved_back").changes
    assert change.lines()[:3] == [
        "start_moved_back [REFUSED]: At 00:00 (cron `0 0 * * *` UTC, at the time); start "
        "2024-01-01T00:00:00+00:00; catch-up off -> At 00:00 (cron `0 0 * * *` UTC, at the time); start "
        "2023-01-01T00:00:00+00:00; catch-up on",
        "  runs at unpause: 1 -> more than 100; runs per day: 1 -> 1",
        "  more than 100 runs at unpause, more than schedule_max_runs_at_unpause = 10 (catch-up from the "
        "start date?)",
    ]
    assert change.lines()[3].startswith("  Fix: change the schedule, or acknowledge it: add to ")


def test_a_cron_tightened_to_every_five_minutes_is_refused(snapshots):
    (change,) = review(snapshots, "tightened_cron").changes
    assert change.refused
    assert change.lines()[1:3] == [
        "  runs at unpause: 1 -> 1; runs per day: 1 -> more than 48",
        "  more than 48 runs per day, more than schedule_max_runs_per_day = 48",
    ]


def test_an_asset_renamed_only_where_it_is_updated_leaves_its_consumer_refused(snapshots):
    result = review(snapshots, "orders_producer", "orders_consumer")
    # The producer's schedule did not change; its consumer's condition can no longer be met.
    assert [change.dag_id for change in result.changes] == ["orders_consumer"]
    assert result.changes[0].lines()[1:4] == [
        "  runs at unpause: 0 -> 0; runs per day: 0 -> 0",
        "  triggered by `orders` (no DAG updates it)",
        "  no DAG updates the assets its condition needs (on assets `orders`): it would never run",
    ]
    assert result.refused == result.changes


def test_a_consumer_checked_alone_counts_the_recorded_producers_of_the_dags_not_parsed(snapshots):
    """./run_tests.sh --dag CONSUMER parses only the consumer: the producer's recorded entry updates it."""
    base, head = snapshots
    alone = {"orders_consumer": base["orders_consumer"]}
    recorded = {"orders_producer": base["orders_producer"]}
    now = pendulum.now("UTC")

    assert schedule_changes.review(base, alone, now, load_policy(), {}, unparsed=recorded).changes == []
    # the producer parsed, with the asset renamed: the recorded entry of a parsed DAG does not count
    renamed = {"orders_producer": head["orders_producer"], **alone}
    result = schedule_changes.review(base, renamed, now, load_policy(), {}, unparsed={})
    assert [change.dag_id for change in result.refused] == ["orders_consumer"]
    # what is not parsed is not reviewed: a recorded entry with another schedule is only a producer
    result = schedule_changes.review(
        {}, alone, now, load_policy(), {}, unparsed={"tightened_cron": head["tightened_cron"], **recorded}
    )
    assert [change.dag_id for change in result.changes] == ["orders_consumer"]
    assert result.refused == []


def test_a_timetable_change_with_no_extra_run_passes(snapshots):
    result = review(snapshots, "moved_to_six")
    assert result.refused == []
    assert result.report().splitlines() == [
        "schedule changes:",
        "moved_to_six [ok]: At 00:00 (cron `0 0 * * *` UTC, at the time); start "
        "2024-01-01T00:00:00+00:00; catch-up off -> At 06:00 (cron `0 6 * * *` UTC, at the time); start "
        "2024-01-01T00:00:00+00:00; catch-up off",
        "  runs at unpause: 1 -> 1; runs per day: 1 -> 1",
    ]


def test_nothing_schedule_related_changed_reviews_nothing(snapshots):
    base, _ = snapshots
    assert schedule_changes.review(base, base, pendulum.now("UTC"), load_policy(), {}).changes == []


def test_an_acknowledged_change_passes_and_says_why(snapshots):
    (change,) = review(snapshots, "tightened_cron").changes
    reason = "near-real-time feed agreed with its owners"
    result = review(snapshots, "tightened_cron", acknowledged={("tightened_cron", change.after): reason})
    assert result.refused == []
    assert result.changes[0].lines()[-1] == f"  acknowledged: {reason}"
    other = review(snapshots, "tightened_cron", acknowledged={("tightened_cron", change.before): reason})
    assert other.refused, "an acknowledgement names the settings it accepts, not any change of the DAG"


def cron_entry(start, catchup: bool, expression: str = "0 0 * * *") -> dict:
    from airflow.serialization.serialized_objects import encode_timetable
    from airflow.timetables.interval import CronDataIntervalTimetable

    timetable = CronDataIntervalTimetable(expression, "UTC")
    return {
        "schedule": inventory.schedule_words(timetable),
        "timetable": encode_timetable(timetable),
        "start_date": start.isoformat(),
        "end_date": None,
        "catchup": catchup,
    }


def test_runs_at_unpause_at_the_limit_pass_and_one_past_is_refused():
    policy = dataclasses.replace(load_policy(), schedule_max_runs_at_unpause=3)
    now = pendulum.now("UTC")
    midnight = now.start_of("day")
    at_limit = {"d": cron_entry(midnight - timedelta(days=3), catchup=True)}
    past_limit = {"d": cron_entry(midnight - timedelta(days=4), catchup=True)}
    (ok,) = schedule_changes.review({}, at_limit, now, policy, {}).changes
    (refused,) = schedule_changes.review({}, past_limit, now, policy, {}).changes
    assert (ok.runs_after.at_unpause, ok.refused) == (3, False)
    assert (refused.runs_after.at_unpause, refused.refused) == (4, True)


def test_a_run_due_exactly_at_the_moment_of_the_review_counts_at_unpause():
    # The scheduler creates a run once next_dagrun_create_after <= now (DagModel.dags_needing_dagruns):
    # a run due at the very moment of unpausing starts with the others.
    now = pendulum.now("UTC").start_of("day").add(days=2)  # a future midnight: the review's own clock
    daily = cron_entry(now - timedelta(days=3), catchup=True)
    assert schedule_changes.runs(daily, now, 10, 100).at_unpause == 3
    assert schedule_changes.runs(daily, now - timedelta(microseconds=1), 10, 100).at_unpause == 2


def test_runs_per_day_at_the_limit_pass_and_one_past_is_refused():
    hourly = {"d": cron_entry(pendulum.datetime(2024, 1, 1), catchup=False, expression="0 * * * *")}
    at_limit = dataclasses.replace(load_policy(), schedule_max_runs_per_day=24)
    below = dataclasses.replace(load_policy(), schedule_max_runs_per_day=23)
    now = pendulum.now("UTC")
    (ok,) = schedule_changes.review({}, hourly, now, at_limit, {}).changes
    (refused,) = schedule_changes.review({}, hourly, now, below, {}).changes
    assert (ok.runs_after.per_day, ok.refused) == (24, False)
    assert (refused.runs_after.per_day_words(), refused.refused) == ("more than 23", True)


def test_the_shipped_acknowledgements_file_reads():
    assert schedule_changes.acknowledgements() == {}


def test_a_bad_acknowledgement_is_a_clear_error(tmp_path):
    path = tmp_path / "acknowledged.toml"
    path.write_text('[[change]]\ndag_id = "d"\nsettings = "s"\n')
    with pytest.raises(schedule_changes.AcknowledgementError, match=r"number 1 lacks reason\. Fix: "):
        schedule_changes.acknowledgements(path)
    path.write_text("[[change]\n")
    with pytest.raises(schedule_changes.AcknowledgementError, match="not valid TOML"):
        schedule_changes.acknowledgements(path)
    path.write_text('[[change]]\ndag_id = "d"\nsettings = "s"\nreason = "r"\n')
    assert schedule_changes.acknowledgements(path) == {("d", "s"): "r"}


def test_the_summary_table_shows_each_change(snapshots):
    table = review(snapshots, "tightened_cron", "moved_to_six").markdown().splitlines()
    assert table[0] == "| DAG | settings (before -> after) | runs at unpause | runs per day | verdict |"
    assert [row.split(" | ")[0] for row in table[2:]] == ["| `moved_to_six`", "| `tightened_cron`"]
    assert table[3].endswith(
        "| 1 -> 1 | 1 -> more than 48 | **REFUSED**<br>more than 48 runs per day, more than "
        "schedule_max_runs_per_day = 48 |"
    )


def test_a_start_date_in_the_future_counts_the_runs_from_it():
    """The next days' runs of a DAG starting in three days begin then, not at the review."""
    midnight = pendulum.now("UTC").start_of("day")
    now = midnight.add(hours=12)
    daily = cron_entry(midnight.add(days=3), catchup=False)

    runs = schedule_changes.runs(daily, now, 10, 100)

    assert (runs.at_unpause, runs.next_days) == (0, 5)  # the days 3 to 7 from today, before day 7 at noon
    assert runs.per_day_words() == f"{5 / 7:.3g}"


def test_a_schedule_without_a_start_date_counts_the_runs_from_the_review():
    """Airflow 3 takes a schedule without start_date (catch-up off): its runs start from the review's now."""
    now = pendulum.datetime(2030, 1, 1, 12)
    daily = {**cron_entry(now, catchup=False), "start_date": None}

    assert schedule_changes.runs(daily, now, 10, 100).next_days == 7  # logical dates Jan 2 to 8


@pytest.mark.parametrize("kind", ["name", "uri"])
def test_a_condition_on_an_asset_reference_is_met_by_the_dag_that_updates_it(kind):
    """Asset.ref(name=...) or Asset.ref(uri=...) in a schedule, as the scheduler decodes it."""
    from airflow.sdk import Asset
    from airflow.serialization.serialized_objects import encode_timetable
    from airflow.timetables.simple import AssetTriggeredTimetable

    label = {"name": "orders", "uri": "s3://lake/orders/"}[kind]
    timetable = AssetTriggeredTimetable(Asset.ref(**{kind: label}))
    entry = {"timetable": encode_timetable(timetable), "consumes": [label]}

    assert type(schedule_changes.timetable_of(entry).asset_condition).__name__ == f"Asset{kind.title()}Ref"
    assert schedule_changes.satisfiable(entry, {label, "other"})
    assert not schedule_changes.satisfiable(entry, {"other"})


def test_the_base_is_the_commit_gate_base_ref_names_else_the_recorded_snapshot(monkeypatch, repo_root):
    import json
    import subprocess

    def git(*args) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo_root, capture_output=True, text=True, check=True
        ).stdout

    head = git("rev-parse", "HEAD").strip()
    monkeypatch.setenv("GATE_BASE_REF", "HEAD")
    assert schedule_changes.gate_base() == (
        f"the base commit HEAD ({head[:12]})",
        json.loads(git("show", f"{head}:tools/gate/inventory.json")),
    )

    monkeypatch.setenv("GATE_BASE_REF", "no-such-branch")
    assert schedule_changes.gate_base() == (
        "the recorded snapshot inventory.json (GATE_BASE_REF=no-such-branch is not a commit here)",
        inventory.read_snapshot(),
    )
    monkeypatch.delenv("GATE_BASE_REF")
    assert schedule_changes.gate_base() == ("the recorded snapshot inventory.json", inventory.read_snapshot())


def test_an_end_date_within_the_next_days_stops_the_count_and_shows_in_the_settings():
    now = pendulum.datetime(2030, 1, 1, 12)
    ending = {
        **cron_entry(pendulum.datetime(2029, 12, 1), catchup=False),
        "end_date": "2030-01-04T00:00:00+00:00",
    }

    assert schedule_changes.runs(ending, now, 10, 100).next_days == 2  # Jan 2 and 3: Jan 4 is the end
    assert schedule_changes.settings_words(ending) == (
        "At 00:00 (cron `0 0 * * *` UTC, data intervals); start 2029-12-01T00:00:00+00:00; catch-up off; "
        "end 2030-01-04T00:00:00+00:00"
    )


def test_a_run_whose_logical_date_is_the_end_of_the_next_days_is_not_counted():
    """Reviewed at midnight: the next 7 days hold the runs of Jan 1 to 7; Jan 8 is the first after them."""
    now = pendulum.datetime(2030, 1, 1)
    daily = cron_entry(pendulum.datetime(2029, 12, 1), catchup=False)

    runs = schedule_changes.runs(daily, now, 10, 100)

    assert (runs.next_days, runs.per_day, runs.per_day_words()) == (7, 1, "1")


def test_an_asset_renamed_where_it_is_updated_reviews_only_the_dags_it_leaves_unsatisfied():
    """The repository's own snapshot: redshift__04 updates its asset under a new name; its consumer is
    reviewed, the consumers of the assets still updated are not."""
    import copy

    base = inventory.read_snapshot()
    head = copy.deepcopy(base)
    head["redshift__04_unload_sales_by_category"]["produces"] = ["s3_tickit_sales_by_category_v2"]
    # Consumers of assets still updated, which must not be reviewed (a DAG added later may join them).
    assert {d for d, e in head.items() if e["consumes"]} >= {
        "datalake__02_tickit_gold",
        "redshift__02_initial_load",
        "redshift__04_unload_sales_by_category",
        "redshift__05_catalog_sales_by_category",
    }

    result = schedule_changes.review(base, head, pendulum.now("UTC"), load_policy(), {})

    assert [change.dag_id for change in result.changes] == ["redshift__05_catalog_sales_by_category"]
    assert result.refused == result.changes


def test_counts_at_their_cap_are_numbers_and_one_past_is_more_than_the_cap():
    """A count stops one past its cap: the cap itself is still a number in the report."""
    now = pendulum.now("UTC").start_of("day").add(days=2)  # a future midnight: the review's own clock
    daily = cron_entry(now - timedelta(days=3), catchup=True)  # 3 runs at unpause, 7 in the next 7 days

    at_cap = schedule_changes.runs(daily, now, unpause_cap=3, ahead_cap=7)
    past_cap = schedule_changes.runs(daily, now, unpause_cap=2, ahead_cap=6)

    assert (at_cap.unpause_words(), at_cap.per_day_words()) == ("3", "1")
    assert (past_cap.unpause_words(), past_cap.per_day_words()) == ("more than 2", "more than 0.857")


def test_a_schedule_without_assets_is_satisfiable_by_any_dags():
    """Every timetable without assets has Airflow's null condition (Timetable.asset_condition)."""
    daily = cron_entry(pendulum.datetime(2024, 1, 1), catchup=False)
    assert type(schedule_changes.timetable_of(daily).asset_condition).__name__ == "_NullAsset"
    assert schedule_changes.satisfiable(daily, set())


def test_a_condition_on_an_asset_alias_counts_as_satisfiable():
    """An alias resolves to assets only at run time: no DAG of the repository can be said to miss it."""
    from airflow.sdk import AssetAlias
    from airflow.serialization.serialized_objects import encode_timetable
    from airflow.timetables.simple import AssetTriggeredTimetable

    timetable = AssetTriggeredTimetable(AssetAlias(name="orders_of_the_day"))
    entry = {"timetable": encode_timetable(timetable), "consumes": ["alias:orders_of_the_day"]}

    assert schedule_changes.satisfiable(entry, set())


def test_the_review_counts_from_the_moment_it_is_given_else_from_now():
    """A daily DAG starting in 30 days: reviewed as of its start, 7 runs in the next days; reviewed now,
    none yet."""
    start = pendulum.now("UTC").start_of("day").add(days=30)
    head = {"d": cron_entry(start, catchup=False)}

    (as_of_start,) = schedule_changes.review({}, head, start.add(hours=12), load_policy(), {}).changes
    (as_of_now,) = schedule_changes.review({}, head, None, load_policy(), {}).changes

    assert (as_of_start.runs_after.next_days, as_of_now.runs_after.next_days) == (7, 0)


def test_the_next_days_are_counted_from_the_moment_given_whatever_the_clock_says():
    """Catch-up off makes Airflow skip to its own clock's latest interval: the count of the next days
    must not, so a review as of a past moment counts that week."""
    now = pendulum.datetime(2024, 3, 1, 12)
    hourly = cron_entry(pendulum.datetime(2024, 1, 1), catchup=False, expression="0 * * * *")

    assert schedule_changes.runs(hourly, now, 10, 1000).next_days == 7 * 24


def test_the_counted_runs_are_a_value():
    """A change keeps the Runs it was given: they cannot change after the verdict, equal ones are equal."""
    daily = cron_entry(pendulum.datetime(2024, 1, 1), catchup=False)
    now = pendulum.datetime(2030, 1, 1, 12)
    runs = schedule_changes.runs(daily, now, 10, 100)

    with pytest.raises(dataclasses.FrozenInstanceError):
        runs.next_days = 0
    assert {runs: "counted"}[schedule_changes.runs(daily, now, 10, 100)] == "counted"
