"""The loader's DAG constructor hook: what it records, and that Airflow sees the constructors unchanged."""

from __future__ import annotations

import inspect

import pytest

from airflow.sdk import DAG

from compat import airflow as airflow_compat
from gate.loader import _DagKwargsRecorder

DAG_CLASSES = airflow_compat.dag_classes()  # the SDK's DAG, and on Airflow 3.0 the scheduler's subclass


def test_recorder_keeps_the_constructor_signatures_and_restores_the_constructors():
    # The DAG serializer reads the constructor's defaults when it is first imported, which can happen during
    # the gate's DagBag load: a bare (*args, **kwargs) wrapper there made later deserialised DAGs lose them.
    before = {cls: (cls.__init__, inspect.signature(cls.__init__)) for cls in DAG_CLASSES}

    with _DagKwargsRecorder():
        for cls, (init, signature) in before.items():
            assert cls.__init__ is not init, f"{cls} is not recorded"
            assert inspect.signature(cls.__init__) == signature

    assert {cls: cls.__init__ for cls in before} == {cls: init for cls, (init, _) in before.items()}


def test_recorder_sees_the_keywords_of_every_dag_class():
    assert DAG_CLASSES[0] is DAG
    with _DagKwargsRecorder() as recorder:
        for number, cls in enumerate(DAG_CLASSES):
            cls(
                f"redshift__{number}", schedule=None, catchup=False
            )  # dag_id positional, as Airflow 2 files do
        DAG(dag_id="redshift__keywords", schedule=None)

    assert recorder.kwargs == {
        **{
            f"redshift__{number}": frozenset({"dag_id", "schedule", "catchup"})
            for number in range(len(DAG_CLASSES))
        },
        "redshift__keywords": frozenset({"dag_id", "schedule"}),
    }


def test_the_parse_guards_give_back_every_entry_point_they_replaced(tmp_path):
    """After the DAG files loaded, the tests and the gate's own AWS calls use boto3, Variables and sockets:
    an entry point the guards replaced (or one a class only inherits) must be exactly as before."""
    import boto3

    from gate import purity

    def entry_points():
        return [(owner.__dict__.get(attr), getattr(owner, attr)) for owner, attr, _ in purity._targets()]

    before = entry_points()
    with purity.parse_guards(tmp_path), pytest.raises(purity.ParsePurityError):
        boto3.client("s3", region_name="us-east-1")
    assert entry_points() == before
