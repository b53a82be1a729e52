"""Every DAG of the inventory runs end to end against the local AWS, and does what it should there.

One scenario per DAG: the side effects to check. Each DAG runs as its schedule makes its runs
(gate.run_contexts): an asset-triggered run with no logical date and the events that triggered it, the
scheduled run of the sample's interval, or a manual run without a logical date. A DAG in
tools/gate/inventory.json without a scenario fails here: add one when you add a DAG. (The local Athena runs
no SQL: it answers the check queries with counts over the sample, local_aws.athena_answers.) Checks every
run gets: the statements that reached the Redshift Data API and Athena are the DAG's SQL files rendered for
the run, every s3:// location a
statement reads holds objects, and a successful run publishes no alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import pytest

from gate.inventory import read as read_inventory
from local_aws import athena_answers, expected
import repository

HUDI_SPEC = repository.DAGS / "hudi" / "tables.yaml"
GLUE_SCRIPT = repository.DAGS / "glue_scripts" / "tickit_refine.py"
READ_URI = re.compile(r"\bFROM\s+'(s3://[^']+)'", re.IGNORECASE)  # COPY ... FROM 's3://...'
UNLOAD_URI = re.compile(r"\bTO\s+'(s3://[^']+)'", re.IGNORECASE)


@dataclass(frozen=True)
class Scenario:
    checks: tuple[Callable, ...] = ()  # check(aws, dag, result)


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


# Side effects.


def copies_every_table_from(prefix: Callable) -> Callable:
    """One COPY per table, each FROM the table's prefix in the sample (the generic check sees it exists)."""

    def check(aws, dag, result) -> None:
        bucket = aws.variables["lakehouse_bucket"]
        reads = [uri for call in aws.redshift_statements() for sql in call for uri in READ_URI.findall(sql)]
        assert sorted(reads) == sorted(f"s3://{bucket}/{p}" for p in prefix(result))

    return check


def _initial_prefixes(result):
    return _full_prefixes()


def _incremental_prefixes(result):
    """The day of the run's data interval: the scheduled run of [D, D+1) loads D."""
    from lakehouse import layout
    from sample_data.bucket import redshift_spec

    day = f"{result.run.data_interval[0]:%Y-%m-%d}"
    return [layout.incremental_prefix(t.name, day) for t in redshift_spec().incremental]


def unload_writes_under_the_unload_prefix(aws, dag, result) -> None:
    from lakehouse import layout

    targets = [uri for call in aws.redshift_statements() for sql in call for uri in UNLOAD_URI.findall(sql)]
    assert targets == [layout.s3_uri(aws.variables["lakehouse_bucket"], layout.UNLOAD_PREFIX)]


def crawler_targets(get_crawler_response: dict) -> list[str]:
    return [target["Path"] for target in get_crawler_response["Crawler"]["Targets"]["S3Targets"]]


def crawler_reads(crawler: str, prefixes: Callable, must_hold_objects: bool) -> Callable:
    def check(aws, dag, result) -> None:
        bucket = aws.variables["lakehouse_bucket"]
        paths = crawler_targets(aws.client("glue").get_crawler(Name=crawler))
        assert paths == [f"s3://{bucket}/{prefix}" for prefix in prefixes()]
        if must_hold_objects:
            for prefix in prefixes():
                assert aws.object_keys(
                    bucket, prefix
                ), f"crawler {crawler} crawls s3://{bucket}/{prefix}: empty"
        last_crawl = aws.client("glue").get_crawler(Name=crawler)["Crawler"]["LastCrawl"]["Status"]
        assert last_crawl == "COMPLETED"  # moto's word for AWS's SUCCEEDED; a failed crawl says FAILED

    return check


def refine_jobs_ran_the_bundled_script(aws, dag, result) -> None:
    from sample_data.bucket import redshift_spec

    glue, bucket = aws.client("glue"), aws.variables["lakehouse_bucket"]
    for table in (t.name for t in redshift_spec().tables):
        job = glue.get_job(JobName=f"tickit_refine_{table}")["Job"]
        location = job["Command"]["ScriptLocation"]
        assert location.startswith(f"s3://{bucket}/"), location
        key = location.removeprefix(f"s3://{bucket}/")
        assert aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == GLUE_SCRIPT.read_bytes()
        runs = glue.get_job_runs(JobName=job["Name"])["JobRuns"]
        assert [run["JobRunState"] for run in runs] == ["SUCCEEDED"]
        assert runs[0]["Arguments"]["--table"] == table


def hudi_steps_match_the_spec(operation: str) -> Callable:
    def check(aws, dag, result) -> None:
        from lakehouse.hudi import emr_step, load_spec

        bucket = aws.variables["lakehouse_bucket"]
        wanted = [emr_step(table, operation, bucket) for table in load_spec(HUDI_SPEC)]
        steps = aws.emr_steps()
        sent = [{k: v for k, v in step.items() if k != "State"} for step in steps]
        assert sorted(sent, key=str) == sorted(wanted, key=str)
        assert [step["State"] for step in steps] == ["COMPLETED"] * len(wanted)

    return check


def hudi_schemas_uploaded(aws, dag, result) -> None:
    from lakehouse.hudi import load_spec

    bucket, s3 = aws.variables["lakehouse_bucket"], aws.client("s3")
    for table in load_spec(HUDI_SPEC):
        body = s3.get_object(Bucket=bucket, Key=table.schema_key)["Body"].read()
        assert body == (HUDI_SPEC.parent / table.schema).read_bytes(), table.schema_key


def _full_prefixes():
    from lakehouse import layout
    from sample_data.bucket import redshift_spec

    return [layout.full_prefix(table.name) for table in redshift_spec().tables]


def _refined_prefixes():
    from lakehouse.layout import refined_prefix
    from sample_data.bucket import redshift_spec

    return [refined_prefix(table.name) for table in redshift_spec().tables]


def _unload_prefix():
    from lakehouse import layout

    return [layout.UNLOAD_PREFIX]


SCENARIOS: dict[str, Scenario] = {
    "redshift__01_create_tables": Scenario(),
    "redshift__02_initial_load": Scenario((copies_every_table_from(_initial_prefixes),)),
    "redshift__03_incremental_load": Scenario((copies_every_table_from(_incremental_prefixes),)),
    "redshift__04_unload_sales_by_category": Scenario((unload_writes_under_the_unload_prefix,)),
    "redshift__05_catalog_sales_by_category": Scenario(
        (crawler_reads("tickit_sales_by_category", _unload_prefix, must_hold_objects=False),),
    ),
    "datalake__01_tickit_refine": Scenario(
        (
            crawler_reads("tickit_raw", _full_prefixes, must_hold_objects=True),
            refine_jobs_ran_the_bundled_script,
            crawler_reads("tickit_refined", _refined_prefixes, must_hold_objects=False),
        ),
    ),
    "datalake__02_tickit_gold": Scenario(),
    "hudi__01_initial_load": Scenario((hudi_steps_match_the_spec("BULK_INSERT"), hudi_schemas_uploaded)),
    "hudi__02_incremental_upsert": Scenario((hudi_steps_match_the_spec("UPSERT"), hudi_schemas_uploaded)),
}

DAG_IDS = sorted(read_inventory())


def scenario_for(dag_id: str) -> Scenario:
    if dag_id not in SCENARIOS:
        pytest.fail(
            f"{dag_id} is in tools/gate/inventory.json but has no end-to-end scenario. Fix: add "
            f"SCENARIOS['{dag_id}'] to {Path(__file__).relative_to(repository.ROOT)} "
            "(its date and side effects)."
        )
    return SCENARIOS[dag_id]


def prepare(aws, dag_id: str):
    """The scenario, the DAG, and the run its schedule makes (asset DAGs: after their events)."""
    scenario = scenario_for(dag_id)
    dag = aws.load(dag_id)
    return scenario, dag, aws.normal_run(dag)


def assert_sent_what_the_files_say(aws, dag, run) -> None:
    variables = aws.variables
    assert sorted(aws.redshift_statements()) == sorted(expected.redshift_calls(dag, run, variables))
    assert sorted(aws.athena_queries()) == sorted(expected.athena_queries(dag, run, variables))


def test_scenarios_and_inventory_name_the_same_dags():
    """Runs in the fast suite too, so a DAG added without a scenario fails before the slow suite runs."""
    assert DAG_IDS, "tools/gate/inventory.json lists no DAG"
    for dag_id in DAG_IDS:
        scenario_for(dag_id)
    assert sorted(set(SCENARIOS) - set(DAG_IDS)) == [], "scenarios of DAGs that are not in the inventory"


class RunView:
    """The account as one run of the lake left it: what reached AWS during that run only."""

    def __init__(self, aws, redshift: list, athena: list, emr: list) -> None:
        self._aws, self._redshift, self._athena, self._emr = aws, redshift, athena, emr

    def __getattr__(self, name):
        return getattr(self._aws, name)

    def redshift_statements(self) -> list[list[str]]:
        return self._redshift

    def athena_queries(self) -> list[str]:
        return self._athena

    def emr_steps(self) -> list[dict]:
        return self._emr


def problems_of_a_successful_run(view, dag, result) -> list[str]:
    """What is wrong with a run that should have succeeded and sent exactly what its files say."""
    try:
        assert result.succeeded, result.summary()
        assert set(result.task_states.values()) == {"success"}, result.summary()
        assert_sent_what_the_files_say(view, dag, result.run)
        bucket = view.variables["lakehouse_bucket"]
        for uri in (
            uri for call in view.redshift_statements() for sql in call for uri in READ_URI.findall(sql)
        ):
            assert uri.startswith(f"s3://{bucket}/"), uri
            assert view.object_keys(bucket, uri.removeprefix(f"s3://{bucket}/")), f"{dag.dag_id} reads {uri}"
        for check in scenario_for(dag.dag_id).checks:
            check(view, dag, result)
    except AssertionError as error:
        return [f"{dag.dag_id}: {error}"]
    return []


@pytest.fixture(scope="module")
def lake(local_aws_account):
    """The whole lake run once, as `./run_local.sh --all` runs it (local_aws.lake), on a fresh account.

    Each DAG's first run is checked the moment it ends (what reached AWS during it, the account as it left
    it), so the per-DAG tests below only read the verdicts: every DAG runs in the context its schedule
    produces, once, instead of once more per test.
    """
    from local_aws.lake import run_all

    aws = local_aws_account
    aws.reset()
    dags = {dag_id: aws.load(dag_id) for dag_id in DAG_IDS}
    seen: dict[str, int] = {"redshift": 0, "athena": 0, "emr": 0}
    verdicts: dict[str, list[str]] = {}

    def on_run(lake_run) -> None:
        redshift, athena, emr = aws.redshift_statements(), aws.athena_queries(), aws.emr_steps()
        view = RunView(aws, redshift[seen["redshift"] :], athena[seen["athena"] :], emr[seen["emr"] :])
        seen.update(redshift=len(redshift), athena=len(athena), emr=len(emr))
        dag_id = lake_run.result.dag_id
        if dag_id not in verdicts:
            verdicts[dag_id] = problems_of_a_successful_run(view, dags[dag_id], lake_run.result)

    runs = run_all(aws, dags, on_run=on_run)
    return runs, verdicts, aws.alerts()


@pytest.mark.slow
@pytest.mark.xdist_group("lake")
@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_run_succeeds_and_sends_what_its_files_say(dag_id, lake):
    runs, verdicts, alerts = lake
    assert dag_id in verdicts, f"{dag_id} never ran in the lake: {[run.result.dag_id for run in runs]}"
    assert verdicts[dag_id] == []
    assert alerts == [], "a successful run published a failure alert"


@pytest.mark.slow
@pytest.mark.xdist_group("lake")
def test_the_lake_runs_every_dag_as_the_scheduler_does_and_chains_the_assets(lake):
    """What `./run_local.sh --all` prints: one line per run, in the order the scheduler would make them."""
    from local_aws.lake import HEADER, table

    runs, _, _ = lake
    lines = table(runs).splitlines()
    assert lines[0].split() == " ".join(HEADER).split()
    assert len(lines) == 1 + len(runs)
    # A data-interval timetable's day, and a cron string's run at the time (MWAA's default: no interval).
    day, at_the_time = (
        "schedule: 2024-03-01 00:00 to 2024-03-02 00:00",
        "schedule: 2024-03-01 00:00 to 2024-03-01 00:00",
    )
    by_hand, start = "manual trigger, no logical date", "2024-03-01 00:00"
    unloaded = "asset s3_tickit_sales_by_category from redshift__04_unload_sales_by_category"
    # The runs of these DAGs, in this order; a DAG added later adds its own runs between them.
    expected = [
        # Wave 1: every DAG not scheduled on assets; timetable DAGs on the sample's first incremental day.
        ("datalake__01_tickit_refine", at_the_time, start, "success"),
        ("hudi__01_initial_load", by_hand, "none", "success"),
        ("hudi__02_incremental_upsert", at_the_time, start, "success"),
        ("redshift__01_create_tables", by_hand, "none", "success"),
        ("redshift__03_incremental_load", day, start, "success"),
        # Wave 2: what their asset events trigger, with no logical date.
        (
            "datalake__02_tickit_gold",
            "asset tickit_refined_tables from datalake__01_tickit_refine",
            "none",
            "success",
        ),
        (
            "redshift__02_initial_load",
            "asset redshift_tickit_tables from redshift__01_create_tables",
            "none",
            "success",
        ),
        (
            "redshift__04_unload_sales_by_category",
            "asset redshift_tickit_loaded from redshift__03_incremental_load",
            "none",
            "success",
        ),
        # Wave 3: the initial load's event triggers the UNLOAD again; the first UNLOAD's, the catalog.
        (
            "redshift__04_unload_sales_by_category",
            "asset redshift_tickit_loaded from redshift__02_initial_load",
            "none",
            "success",
        ),
        ("redshift__05_catalog_sales_by_category", unloaded, "none", "success"),
        # Wave 4: the second UNLOAD's event; then nothing is due.
        ("redshift__05_catalog_sales_by_category", unloaded, "none", "success"),
    ]
    shown = {dag_id for dag_id, *_ in expected}
    assert [run.cells()[:4] for run in runs if run.cells()[0] in shown] == expected
    consumed = [run.result for run in runs if run.result.run.run_type == "asset_triggered"]
    assert all(result.logical_date is None and result.run.data_interval is None for result in consumed)


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_failed_aws_work_fails_the_run_and_publishes_the_sns_alert(dag_id, aws):
    scenario, dag, run = prepare(aws, dag_id)
    aws.pending.failing = True

    result = aws.run_dag(dag, run)

    assert result.state == "failed", result.summary()
    assert "failed" in result.task_states.values(), result.summary()
    alerts = aws.alerts()
    assert [alert.subject for alert in alerts] == [f"MWAA: {dag_id} failed"]
    assert alerts[0].topic_arn == aws.variables["sns_alert_topic_arn"]
    assert f"DAG {dag_id} run {result.run_id} failed" in alerts[0].message
    logical_date = f"{run.logical_date:%Y-%m-%d}" if run.logical_date else "none"
    assert f"Logical date: {logical_date}." in alerts[0].message


@pytest.mark.slow
@pytest.mark.parametrize("dag_id", ["datalake__02_tickit_gold", "redshift__05_catalog_sales_by_category"])
def test_an_empty_athena_answer_fails_the_check(dag_id, aws):
    scenario, dag, run = prepare(aws, dag_id)
    answers = athena_answers.answers(dag, run, aws.variables, aws.sample)
    assert answers, f"{dag_id} has no Athena check the local Athena answers"
    for query, rows in answers.items():
        aws.gaps.athena_answers[query] = [rows[0], ["0"]]

    result = aws.run_dag(dag, run)

    assert result.state == "failed", result.summary()
    failed = sorted(task for task, state in result.task_states.items() if state == "failed")
    assert failed and all("check" in task for task in failed), result.summary()
    assert [alert.subject for alert in aws.alerts()] == [f"MWAA: {dag_id} failed"]


@pytest.mark.slow
def test_an_incremental_run_without_a_logical_date_fails_at_once_and_alerts(aws):
    """Triggered by hand without a logical date (the REST API and CLI allow it): no data interval, so the
    copy tasks refuse it before rendering their SQL, nothing reaches Redshift, and the alert still goes."""
    from gate.run_contexts import manual_run

    dag = aws.load("redshift__03_incremental_load")
    run = manual_run(dag, None, aws.sample_day)

    result = aws.run_dag(dag, run)

    assert result.state == "failed", result.summary()
    from sample_data.bucket import redshift_spec

    assert {task: state for task, state in result.task_states.items() if state == "failed"} == {
        f"{table.name}.copy_to_staging": "failed" for table in redshift_spec().incremental
    }
    assert aws.redshift_statements() == []
    (alert,) = aws.alerts()
    assert alert.message.startswith(f"DAG redshift__03_incremental_load run {result.run_id} failed.")
    assert "Logical date: none." in alert.message
