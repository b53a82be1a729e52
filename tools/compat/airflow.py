"""What the harness needs from Airflow where Airflow 3.0 and 3.3 differ: one function per difference.

Covers Airflow 3.0 (3.0.6: MWAA's today) and 3.3 (3.3.1: requirements/next/3.3.1, ./run_tests.sh
--upgrade-check). Each function names what each version has; the newer path is tried first, so dropping
3.0 is deleting the fallbacks. Nothing here is imported before the caller has prepared AIRFLOW_HOME
(airflow_home.prepare): every Airflow import is inside a function. The DAGs need none of this: they use
only `airflow.sdk` and the providers, which both versions have.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def dag_bag_class() -> type:
    """The DagBag that parses a folder. 3.3: airflow.dag_processing.dagbag (airflow.models.dagbag keeps a
    deprecated alias); 3.0: airflow.models.dagbag."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # 3.0
        from airflow.models.dagbag import DagBag
    return DagBag


def dag_bag(dag_folder: Path | str, *, cls: type | None = None, safe_mode: bool = True, files=None):
    """A DagBag of `dag_folder` without Airflow's example DAGs; with `files`, only those files are parsed (the
    bag's folder stays `dag_folder`). 3.0 takes `include_examples=False`; 3.3 dropped the argument (examples
    follow [core] load_examples, which airflow_home.prepare turns off)."""
    import inspect

    cls = cls or dag_bag_class()

    def without_examples(method) -> dict:
        return (
            {"include_examples": False} if "include_examples" in inspect.signature(method).parameters else {}
        )

    if files is None:
        return cls(dag_folder=str(dag_folder), safe_mode=safe_mode, **without_examples(cls))
    bag = cls(dag_folder=str(dag_folder), collect_dags=False, **without_examples(cls))
    for path in files:
        bag.collect_dags(dag_folder=str(path), safe_mode=safe_mode, **without_examples(bag.collect_dags))
    return bag


def dag_classes() -> tuple[type, ...]:
    """Every class a DAG file can build a DAG with. 3.0: airflow.sdk.DAG and the scheduler's subclass
    airflow.models.dag.DAG (what `from airflow import DAG` gives); 3.3: airflow.sdk.DAG only (the old paths
    are deprecated aliases of it)."""
    import airflow.models.dag as scheduler_module
    from airflow.sdk.definitions.dag import DAG

    legacy = scheduler_module.__dict__.get("DAG")  # 3.0 only; on 3.3 the module's __getattr__ warns
    return (DAG,) if legacy is None or legacy is DAG else (DAG, legacy)


def core_timetable(dag):
    """The scheduler's timetable of `dag` (infer_manual_data_interval, next_dagrun_info, generate_run_id,
    description, summary): as_core_timetable(dag.timetable)."""
    return as_core_timetable(dag.timetable)


def as_core_timetable(timetable):
    """The scheduler's (core) timetable for a DAG's `timetable`. 3.0: a DAG's timetable is the core one;
    3.3: the SDK's timetables lack the scheduler's methods and attributes and are coerced to the core ones,
    as DAG.test() and the serializer do."""
    try:
        from airflow.serialization.encoders import coerce_to_core_timetable
    except ImportError:  # 3.0
        return timetable
    return coerce_to_core_timetable(timetable)


def asset_triggered(dag) -> bool:
    """Whether `dag` runs on asset events (alone or with a time schedule). Asked of the scheduler's
    timetable (core_timetable), whose classes are the same on 3.0 and 3.3 whatever the DAG file used."""
    from airflow.timetables.assets import AssetOrTimeSchedule
    from airflow.timetables.simple import AssetTriggeredTimetable

    return isinstance(core_timetable(dag), (AssetTriggeredTimetable, AssetOrTimeSchedule))


def schedule_assets(dag) -> Iterator:
    """The assets `dag` is scheduled on, in order. 3.0: the condition's iter_assets(); 3.3: the SDK's
    conditions (AssetAll, AssetAny) no longer have it, so their `objects` are walked."""
    from airflow.sdk import Asset

    def walk(condition):
        if isinstance(condition, Asset):
            yield condition
            return
        if hasattr(condition, "iter_assets"):  # 3.0
            yield from (asset for _, asset in condition.iter_assets())
            return
        for part in getattr(condition, "objects", ()):
            yield from walk(part)

    condition = getattr(dag.timetable, "asset_condition", None)
    return walk(condition) if condition is not None else iter(())


def asset_condition_met(dag, queued_assets, session) -> bool:
    """Whether the queued assets (AssetModel rows, or anything with a name and uri) satisfy `dag`'s asset
    condition, by Airflow's own AssetEvaluator as the scheduler asks it (DagModel.dags_needing_dagruns).
    3.3: the evaluator takes the scheduler's condition (the core timetable's, serialized assets) keyed by
    SerializedAssetUniqueKey; 3.0: the DAG's SDK condition keyed by the SDK's AssetUniqueKey."""
    from airflow.assets.evaluation import AssetEvaluator

    try:
        from airflow.serialization.definitions.assets import SerializedAssetUniqueKey as Key
    except ImportError:  # 3.0
        from airflow.sdk.definitions.asset import AssetUniqueKey as Key

        condition = dag.timetable.asset_condition
    else:
        condition = core_timetable(dag).asset_condition
    statuses = {Key.from_asset(asset): True for asset in queued_assets}
    return AssetEvaluator(session).run(condition, statuses)


def scheduler_dag(dag):
    """The DAG the scheduler holds for `dag`: serialized and read back (next_dagrun_info,
    iter_dagrun_infos_between, with its own time restriction). 3.3: DagSerialization gives a SerializedDAG;
    3.0: SerializedDAG is the serializer and gives the scheduler's DAG."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as Serializer
    except ImportError:  # 3.0
        from airflow.serialization.serialized_objects import SerializedDAG as Serializer
    return Serializer.from_dict(Serializer.to_dict(dag))


def next_dagrun_info(scheduler_dag, last_info):
    """The scheduler DAG's next run after the run `last_info` (a DagRunInfo, None for the first), within the
    DAG's time restriction. 3.3: next_dagrun_info(last_automated_run_info=<DagRunInfo>); 3.0:
    next_dagrun_info(<its data interval>)."""
    import inspect

    if "last_automated_run_info" in inspect.signature(scheduler_dag.next_dagrun_info).parameters:
        return scheduler_dag.next_dagrun_info(last_automated_run_info=last_info, restricted=True)
    last_interval = None if last_info is None else last_info.data_interval  # 3.0
    return scheduler_dag.next_dagrun_info(last_interval, restricted=True)


def load_plugins_folder() -> dict[str, str]:
    """Import the plugins folder as Airflow's plugin manager does (every `.py` that .airflowignore does not
    exclude, as a top-level module named after the file); returns its import errors {file: message}.
    3.3: _load_plugins_from_plugin_directory(plugins_folder, ...) returns them; 3.0:
    load_plugins_from_plugin_directory() reads the settings and fills plugins_manager.import_errors."""
    from airflow import plugins_manager, settings
    from airflow.configuration import conf

    if hasattr(plugins_manager, "_load_plugins_from_plugin_directory"):
        _, errors = plugins_manager._load_plugins_from_plugin_directory(
            plugins_folder=settings.PLUGINS_FOLDER,
            ignore_file_syntax=conf.get_mandatory_value("core", "DAG_IGNORE_FILE_SYNTAX", fallback="glob"),
        )
        return dict(errors)
    plugins_manager.load_plugins_from_plugin_directory()  # 3.0
    return dict(plugins_manager.import_errors)


def write_dags_to_db(dags, bundle_name: str, session) -> None:
    """Write `dags` (SDK DAGs) to the metadata DB as the DAG processor does. 3.3: SerializedDAG (the
    scheduler's DAG) takes SDK DAGs; 3.0: the scheduler's DAG class takes deserialized SerializedDAGs."""
    try:
        from airflow.serialization.definitions.dag import SerializedDAG
    except ImportError:  # 3.0
        from airflow.models.dag import (
            DAG as SchedulerDAG,
        )  # noqa: AIR311 - 3.0's scheduler DAG: no other path

        round_trip = [scheduler_dag(dag) for dag in dags]
        SchedulerDAG.bulk_write_to_db(bundle_name, None, round_trip, session=session)  # noqa: AIR311
        return
    SerializedDAG.bulk_write_to_db(bundle_name, None, list(dags), session=session)


def per_task_serializer() -> type | None:
    """The class whose to_dict/from_dict DAG.test() calls once per task to give each task's Execution API
    the DAG. 3.0: SerializedDAG (InProcessTestSupervisor._api_client); 3.3: None, its API reads the DAG
    from the metadata DB instead."""
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor

    if "from_dict" not in InProcessTestSupervisor._api_client.__code__.co_names:
        return None
    from airflow.serialization.serialized_objects import SerializedDAG

    return SerializedDAG


def base_hook() -> type:
    """BaseHook. 3.3: airflow.sdk.BaseHook (airflow.hooks.base is a deprecated alias); 3.0: only
    airflow.hooks.base.BaseHook."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # 3.0
        from airflow.hooks.base import BaseHook
    return BaseHook


def utcnow():
    """The current time as Airflow stores it. 3.3: airflow.sdk.timezone; 3.0: airflow.utils.timezone."""
    try:
        from airflow.sdk.timezone import utcnow
    except ImportError:  # 3.0
        from airflow.utils.timezone import utcnow
    return utcnow()


def test_run_factory() -> tuple[object, str]:
    """(module, name) of the function DAG.test() creates its DagRun with (keyword arguments dag, conf,
    session, ...). 3.3: airflow.models.dagrun.get_or_create_dagrun; 3.0: airflow.models.dag's
    _get_or_create_dagrun. DAG.test() imports it when called, so replacing it there takes effect."""
    import airflow.models.dagrun as dagrun_module

    if hasattr(dagrun_module, "get_or_create_dagrun"):
        return dagrun_module, "get_or_create_dagrun"
    import airflow.models.dag as scheduler_dag_module  # 3.0

    return scheduler_dag_module, "_get_or_create_dagrun"


def fail_exception() -> type:
    """AirflowFailException (a task refusing a run, no retries). 3.3: airflow.sdk.exceptions (the old path
    warns); 3.0: airflow.exceptions only."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # 3.0
        from airflow.exceptions import AirflowFailException
    return AirflowFailException


def execution_api_dag_run(**fields):
    """The Execution API's DagRun (what the task runner builds a task's context from) with `fields`, and
    None for the fields a newer Airflow requires that `fields` does not name (3.3: partition_key)."""
    from airflow.api_fastapi.execution_api.datamodels.taskinstance import DagRun

    required = [name for name, field in DagRun.model_fields.items() if field.is_required()]
    return DagRun(**{name: None for name in required if name not in fields}, **fields)


def dag_test_callback_runner() -> tuple[type, str] | None:
    """(class, method) through which DAG.test() runs a DAG's callbacks with the scheduler's DAG, where that
    DAG cannot render the callbacks' templates. 3.3: DagRun.execute_dag_callbacks(dag=<SerializedDAG>, ...),
    and a SerializedDAG has no get_template_env, so a notifier fails (the DAG processor, on MWAA, runs them
    with the DAG parsed from its file). 3.0: None, its scheduler DAG subclasses the SDK DAG."""
    from airflow.models.dagrun import DagRun

    return (DagRun, "execute_dag_callbacks") if hasattr(DagRun, "execute_dag_callbacks") else None
