"""The loader's DAG constructor hook: what it records, and that Airflow sees the constructors unchanged."""

from __future__ import annotations

import inspect

from airflow.models.dag import DAG as CoreDAG
from airflow.sdk import DAG

from gate.loader import _DagKwargsRecorder


def test_recorder_keeps_the_constructor_signatures_and_restores_the_constructors():
    # The DAG serializer reads the constructor's defaults when it is first imported, which can happen during
    # the gate's DagBag load: a bare (*args, **kwargs) wrapper there made later deserialised DAGs lose them.
    before = {cls: (cls.__init__, inspect.signature(cls.__init__)) for cls in (DAG, CoreDAG)}

    with _DagKwargsRecorder():
        for cls, (init, signature) in before.items():
            assert cls.__init__ is not init, f"{cls} is not recorded"
            assert inspect.signature(cls.__init__) == signature

    assert {cls: cls.__init__ for cls in before} == {cls: init for cls, (init, _) in before.items()}


def test_recorder_sees_the_keywords_of_sdk_and_core_dags():
    with _DagKwargsRecorder() as recorder:
        DAG(dag_id="redshift__sdk", schedule=None)
        CoreDAG(dag_id="redshift__core", catchup=False)

    assert recorder.kwargs == {
        "redshift__sdk": frozenset({"dag_id", "schedule"}),
        "redshift__core": frozenset({"dag_id", "catchup"}),
    }
