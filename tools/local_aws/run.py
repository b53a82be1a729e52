"""Run one DAG with `dag.test()` against the local AWS, set up to fail fast instead of waiting an hour."""

from __future__ import annotations

import functools
import inspect
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from compat import airflow as airflow_compat
from gate.run_contexts import ASSET_TRIGGERED, TRIGGERED_BY, RunContext
from gate.rules import shown_path
from gate.suggest import closest
import repository

DAGS_FOLDER = repository.DAGS

TASK_TIMEOUT = timedelta(seconds=90)  # every task, however it waits; a stuck wait fails the run, not hangs it
POLL_SECONDS = 0.01  # how often operators and sensors ask AWS whether the work is done
WAITER_DELAY_SECONDS = 0.01  # the same for the provider's botocore waiters
# Attribute names under which the amazon provider's operators and sensors keep their polling delay.
POLL_ATTRIBUTES = ("poll_interval", "poke_interval", "sleep_time", "job_poll_interval", "check_interval")
WAITER_ATTRIBUTES = ("waiter_delay",)
BUNDLE_NAME = "dags-folder"  # Airflow's default bundle: the DAG folder


@dataclass(frozen=True)
class TaskRun:
    """One task instance of a run: when it started (None: it never ran), its state and duration, and for a
    failed task the first line of its error."""

    task_id: str
    state: str
    started: datetime | None
    seconds: float | None
    error: str | None = None


@dataclass
class RunResult:
    dag_id: str
    run_id: str
    run: RunContext
    state: str
    task_states: dict[str, str]
    seconds: float
    task_runs: list[TaskRun] = field(default_factory=list)  # in run order

    @property
    def logical_date(self) -> datetime | None:
        return self.run.logical_date

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def summary(self) -> str:
        tasks = "\n".join(
            f"  {state or 'none':<16} {task}" for task, state in sorted(self.task_states.items())
        )
        return f"{self.dag_id} ({self.run.describe()}): {self.state} in {self.seconds:.1f} s\n{tasks}"


def ensure_metadata_db() -> None:
    """Create the tables of Airflow's metadata DB (the throwaway sqlite of AIRFLOW_HOME) if missing."""
    from airflow.utils.db import initdb

    initdb()


def load_dag(dag_id: str, dags_folder: Path = DAGS_FOLDER):
    """The DAG `dag_id` parsed from `dags_folder`; an unknown id or a broken file raises with the reason.

    The gate makes every dag_id its file's name, so only `<dag_id>.py` is parsed; the whole folder only
    when that file does not define the DAG (to say which DAGs there are, or why a file did not load).
    """
    own_file = dags_folder / f"{dag_id}.py"
    if own_file.is_file():
        bag = airflow_compat.dag_bag(own_file)
        if dag_id in bag.dags and not bag.import_errors:
            return bag.dags[dag_id]
    bag = airflow_compat.dag_bag(dags_folder)
    if dag_id in bag.dags:
        return bag.dags[dag_id]
    errors = "".join(
        f"\n  {shown_path(path)}: {error.strip().splitlines()[-1]}"
        for path, error in bag.import_errors.items()
    )
    close = closest(dag_id, bag.dags)
    if close and not errors:
        raise KeyError(
            f"no DAG '{dag_id}' in {shown_path(dags_folder)}/; did you mean {' or '.join(map(repr, close))}? "
            f"Fix: ./run_local.sh {close[0]}"
        )
    found = ", ".join(sorted(bag.dags)) or "none"
    raise KeyError(
        f"no DAG '{dag_id}' in {shown_path(dags_folder)}/ (found: {found}).{errors}\n"
        + (
            "Fix: the import error above."
            if errors
            else "Fix: pass a dag_id listed in tools/gate/inventory.json."
        )
    )


def load_dags(dags_folder: Path = DAGS_FOLDER) -> dict:
    """Every DAG of `dags_folder`; a file that does not load raises with the reason."""
    bag = airflow_compat.dag_bag(dags_folder)
    if bag.import_errors:
        errors = "".join(
            f"\n  {path}: {error.strip().splitlines()[-1]}" for path, error in bag.import_errors.items()
        )
        raise KeyError(f"DAG files in {dags_folder} do not load:{errors}\nFix: the import errors above.")
    return dict(bag.dags)


def make_local(dag, task_timeout: timedelta = TASK_TIMEOUT) -> None:
    """Shorten every wait of `dag` for the local AWS: no retries, quick polls, a short execution_timeout.

    Retries and five-minute backoffs exist for AWS's transient errors; locally an error is a bug, and the
    run should stop at the first one.
    """
    for task in dag.tasks:
        task.retries = 0
        task.execution_timeout = task_timeout
        for name in POLL_ATTRIBUTES:
            if isinstance(getattr(task, name, None), (int, float)):
                setattr(task, name, POLL_SECONDS)
        for name in WAITER_ATTRIBUTES:
            if isinstance(getattr(task, name, None), (int, float)):
                setattr(task, name, WAITER_DELAY_SECONDS)
        if hasattr(task, "mode") and hasattr(
            task, "poke_interval"
        ):  # sensors: wait in the task, not rescheduled
            task.mode = "poke"
            task.timeout = task_timeout.total_seconds()
    dag.dagrun_timeout = task_timeout * max(len(dag.tasks), 1)


def register(*dags, unpaused: bool = False) -> None:
    """Write `dags` to the metadata DB as the DAG processor would, with their assets marked active.

    `dag.test()` skips the DAG processor; without this a task with asset inlets or outlets fails with
    AirflowInactiveAssetInInletOrOutletException. `unpaused`: the scheduler queues asset-triggered runs
    only for DAGs that are not paused (AssetManager.register_asset_change), as on a running environment.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import update

    DagBundlesManager().sync_bundles_to_db()
    with create_session() as session:
        airflow_compat.write_dags_to_db(dags, BUNDLE_NAME, session)
        if unpaused:
            ids = [dag.dag_id for dag in dags]
            session.execute(update(DagModel).where(DagModel.dag_id.in_(ids)).values(is_paused=False))


_EXECUTION_API: dict = {}


@contextmanager
def shared_execution_api():
    """Let every task of `dag.test()` use one in-process Execution API app instead of building its own.

    Airflow 3.0.6 builds a fresh app per task, and building it (cadwyn's versioned routes) costs about a
    second of the few a local task takes. The app is the same each time, so one per process is reused
    (across runs too: `_api_client` sets the DAG it serves before each task).
    """
    from airflow.sdk.execution_time import supervisor

    original = supervisor.in_process_api_server
    api = _EXECUTION_API.setdefault("api", original())
    supervisor.in_process_api_server = lambda: api
    try:
        yield
    finally:
        supervisor.in_process_api_server = original


@contextmanager
def serialized_once(dag):
    """Serialize and deserialize `dag` once for all its tasks instead of once per task.

    Airflow 3.0.6's in-process test supervisor gives every task an Execution API whose DagBag holds the DAG
    serialized and deserialized again (InProcessTestSupervisor._api_client:
    `SerializedDAG.from_dict(SerializedDAG.to_dict(dag))`); for a 29-task DAG that is 29 identical round
    trips, a quarter of a second each, most of it validating params. The DAG does not change while it runs,
    so every task's API gets the first round trip's SerializedDAG (which the API only reads).
    """
    serializer = airflow_compat.per_task_serializer()
    if serializer is None:  # this Airflow does not serialize per task
        yield
        return
    original_to_dict = serializer.__dict__["to_dict"]
    original_from_dict = serializer.__dict__["from_dict"]
    cache: dict[str, object] = {}

    def to_dict(cls, var):
        if var is not dag:
            return original_to_dict.__func__(cls, var)
        if "dict" not in cache:
            cache["dict"] = original_to_dict.__func__(cls, var)
        return cache["dict"]

    def from_dict(cls, serialized_obj):
        if serialized_obj is not cache.get("dict"):
            return original_from_dict.__func__(cls, serialized_obj)
        if "dag" not in cache:
            cache["dag"] = original_from_dict.__func__(cls, serialized_obj)
        return cache["dag"]

    serializer.to_dict, serializer.from_dict = classmethod(to_dict), classmethod(from_dict)
    try:
        yield
    finally:
        serializer.to_dict, serializer.from_dict = original_to_dict, original_from_dict


@functools.lru_cache(maxsize=None)
def _shared_loader(search_path_string=None):
    from botocore.loaders import create_loader

    return create_loader(search_path_string)


@contextmanager
def shared_service_models():
    """Let every boto3 client of a run read AWS's service models through one botocore loader per process.

    Each AWS hook builds its own botocore session, and each session reads and parses the service's JSON
    models (and the endpoint list) again: most of the 0.1-0.3 s a client costs. Botocore treats loaded
    models as read-only (a session hands the same objects to all its clients), so sessions can share them.
    """
    from botocore import session

    original = session.create_loader
    session.create_loader = _shared_loader
    try:
        yield
    finally:
        session.create_loader = original


@contextmanager
def quick_scheduling_loop():
    """Let dag.test() loop again after POLL_SECONDS instead of a second when no task is schedulable.

    After a failure, Airflow 3.0.6's dag.test() marks downstream tasks upstream_failed one layer per loop
    and calls time.sleep(1) between loops, so a failed run waits a second per layer of its DAG. Only that
    call is shortened: sleeps anywhere else (operators, the moto server) are left as they are.
    """
    from airflow.sdk.definitions.dag import DAG

    test_code = inspect.unwrap(DAG.test).__code__
    original = time.sleep

    def sleep(seconds: float) -> None:
        if sys._getframe(1).f_code is test_code:
            seconds = min(seconds, POLL_SECONDS)
        original(seconds)

    time.sleep = sleep
    try:
        yield
    finally:
        time.sleep = original


@contextmanager
def plain_task_logs():
    """dag.test()'s task logs at INFO, a failed task's traceback as plain text.

    dag.test() leaves structlog unconfigured: its defaults print the in-process supervisor's debug messages
    and render each traceback with rich, highlighting every frame's source with pygments (about 0.7 s per
    failed task here, most of a failing run). The previous configuration is restored afterwards.
    """
    import logging

    import structlog

    saved = structlog.get_config()
    processors = [
        (
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
            if isinstance(processor, structlog.dev.ConsoleRenderer)
            else processor
        )
        for processor in saved["processors"]
    ]
    structlog.configure(
        processors=processors, wrapper_class=structlog.make_filtering_bound_logger(logging.INFO)
    )
    try:
        yield
    finally:
        structlog.configure(**saved)


def triggering_events(session, dag, run_after: datetime) -> list:
    """The asset events an asset-triggered run of `dag` at `run_after` consumes: the scheduler's query
    (SchedulerJobRunner._create_dag_runs_asset_triggered), events of the DAG's assets after its previous
    asset-triggered run, up to `run_after`."""
    from datetime import date

    from airflow.models.asset import AssetEvent, DagScheduleAssetReference
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType
    from sqlalchemy import func, select

    previous = (
        select(func.max(DagRun.run_after).label("previous_run_after"))
        .where(
            DagRun.dag_id == dag.dag_id,
            DagRun.run_type == DagRunType.ASSET_TRIGGERED,
            DagRun.run_after < run_after,
        )
        .cte()
    )
    return session.scalars(
        select(AssetEvent)
        .join(DagScheduleAssetReference, AssetEvent.asset_id == DagScheduleAssetReference.asset_id)
        .where(
            DagScheduleAssetReference.dag_id == dag.dag_id,
            AssetEvent.timestamp <= run_after,
            AssetEvent.timestamp > func.coalesce(previous.c.previous_run_after, date.min),
        )
        .order_by(AssetEvent.timestamp.asc(), AssetEvent.id.asc())
    ).all()


def emit_schedule_events(dag, source: str = "run_local") -> datetime:
    """Record one event for every asset `dag` is scheduled on (as the REST API's "create asset event"
    does), so a run of it alone is triggered as the scheduler would trigger it; returns their time."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    now = airflow_compat.utcnow()
    with create_session() as session:
        for asset in airflow_compat.schedule_assets(dag):
            model = session.scalar(
                select(AssetModel).where(AssetModel.name == asset.name, AssetModel.uri == asset.uri)
            )
            session.add(AssetEvent(asset_id=model.id, timestamp=now, extra={"from": source}))
    return now


@contextmanager
def runs_created_as(run: RunContext):
    """Let dag.test() create its DagRun as the scheduler (or the REST API) creates `run`.

    Airflow's dag.test() always makes a manual run with the data interval inferred for its logical date
    (compat.airflow.test_run_factory). Here the run gets `run`'s type, logical date (or
    none), data interval (or none) and run_after, and an asset-triggered run the asset events that
    triggered it, exactly as SchedulerJobRunner creates them.
    """
    from airflow.models.dagrun import DagRun
    from airflow.timetables.base import DataInterval
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import delete

    factory_module, factory_name = airflow_compat.test_run_factory()
    original = getattr(factory_module, factory_name)

    def create(*, dag, conf, session, **_ignored):
        run_id = run.run_id
        same = DagRun.run_id == run_id
        if run.logical_date is not None:
            same = same | (DagRun.logical_date == run.logical_date)
        session.execute(delete(DagRun).where(DagRun.dag_id == dag.dag_id, same))
        session.commit()
        dag_run = dag.create_dagrun(
            run_id=run_id,
            logical_date=run.logical_date,
            data_interval=DataInterval(*run.data_interval) if run.data_interval else None,
            run_after=run.run_after,
            conf=conf,
            run_type=DagRunType(run.run_type),
            state=DagRunState.RUNNING,
            triggered_by=DagRunTriggeredByType(TRIGGERED_BY[run.run_type]),
            start_date=airflow_compat.utcnow(),
            session=session,
        )
        if run.run_type == ASSET_TRIGGERED:
            dag_run.consumed_asset_events.extend(triggering_events(session, dag, run.run_after))
            session.commit()
        return dag_run

    setattr(factory_module, factory_name, create)
    try:
        yield
    finally:
        setattr(factory_module, factory_name, original)


@contextmanager
def callbacks_on_the_parsed_dag(dag):
    """Let dag.test() run `dag`'s callbacks with `dag` itself, as the DAG processor runs them on MWAA (with
    the DAG parsed from its file), where dag.test() would pass its scheduler DAG (compat.airflow
    .dag_test_callback_runner)."""
    runner = airflow_compat.dag_test_callback_runner()
    if runner is None:
        yield
        return
    owner, name = runner
    original = owner.__dict__[name]

    @functools.wraps(original)
    def run_callbacks(dag_run, *args, **kwargs):
        if getattr(kwargs.get("dag"), "dag_id", None) == dag.dag_id:
            kwargs["dag"] = dag
        return original(dag_run, *args, **kwargs)

    setattr(owner, name, run_callbacks)
    try:
        yield
    finally:
        setattr(owner, name, original)


def run_dag(dag, run: RunContext) -> RunResult:
    """One DagRun of `dag`, created as `run` says, through `dag.test()`: real operators, sensors and
    callbacks."""
    if dag.start_date and run.logical_date is not None and run.logical_date < dag.start_date:
        raise ValueError(
            f"{dag.dag_id}: logical date {run.logical_date:%Y-%m-%d} is before the DAG's start_date "
            f"{dag.start_date:%Y-%m-%d}, so no task would run. Fix: pass a later --date."
        )
    register(dag)
    start = time.perf_counter()
    with (
        shared_execution_api(),
        serialized_once(dag),
        shared_service_models(),
        quick_scheduling_loop(),
        plain_task_logs(),
        runs_created_as(run),
        callbacks_on_the_parsed_dag(dag),
        task_errors() as errors,
    ):
        dag_run = dag.test(logical_date=run.logical_date, run_after=run.run_after)
    seconds = time.perf_counter() - start
    instances = dag_run.get_task_instances()
    task_states = {ti.task_id: getattr(ti.state, "value", str(ti.state)) for ti in instances}
    state = getattr(dag_run.state, "value", dag_run.state)
    return RunResult(
        dag.dag_id,
        dag_run.run_id,
        run,
        str(state),
        task_states,
        seconds,
        in_run_order(dag, instances, errors),
    )


@contextmanager
def task_errors():
    """{task_id: the first line of its error} of the tasks that fail meanwhile, from the listener hook the
    task runner calls with the exception (on_task_instance_failed), so the summary can show the cause."""
    from airflow.listeners import hookimpl
    from airflow.listeners.listener import get_listener_manager

    errors: dict[str, str] = {}

    class FailedTasks:
        @hookimpl
        def on_task_instance_failed(self, previous_state, task_instance, error) -> None:
            lines = str(error or "").strip().splitlines()
            errors[task_instance.task_id] = lines[0] if lines else type(error).__name__

    listener, manager = FailedTasks(), get_listener_manager()
    manager.add_listener(listener)
    try:
        yield errors
    finally:
        manager.pm.unregister(listener)


def in_run_order(dag, instances, errors: dict[str, str] | None = None) -> list[TaskRun]:
    """The task instances as TaskRuns, by start time; those that never ran last, in the DAG's task order."""
    position = {task_id: n for n, task_id in enumerate(dag.task_dict)}
    runs = [
        TaskRun(
            ti.task_id,
            str(getattr(ti.state, "value", ti.state) or "none"),
            ti.start_date,
            ti.duration,
            (errors or {}).get(ti.task_id),
        )
        for ti in instances
    ]
    return sorted(
        runs, key=lambda r: (r.started is None, r.started or datetime.min, position.get(r.task_id, 0))
    )
