"""The loader: the DAG constructor hook (what it records, and that Airflow sees the constructors unchanged),
the files it parses, and the record of what each DAG file read."""

from __future__ import annotations

import gc
import inspect
import json
import os
import sys
import time
from pathlib import Path

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


TINY_DAG = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

{reads}
with DAG(dag_id="{dag_id}", schedule=None):
    EmptyOperator(task_id="nothing")
"""


def test_only_the_files_of_the_selected_dags_are_parsed(tmp_path, monkeypatch):
    from gate import inventory, loader

    for dag_id in ("alpha", "beta"):
        (tmp_path / f"{dag_id}.py").write_text(TINY_DAG.format(dag_id=dag_id, reads=""))
    monkeypatch.setenv(inventory.SELECTED_DAGS, "beta")

    started = time.perf_counter()
    loaded = loader.load(tmp_path)
    took = time.perf_counter() - started

    assert [path.name for path in loaded.files] == ["beta.py"]
    assert sorted(loaded.dags) == ["beta"]
    assert list(loaded.parse_seconds) == [tmp_path / "beta.py"]
    assert 0 <= loaded.shared_import_seconds <= took  # the shared imports' part of the load


def test_no_garbage_collection_is_charged_to_a_dag_file_s_parse_time(tmp_path, monkeypatch):
    """The parse budget judges the file's own work; a collection of the whole process is not."""
    from gate import loader

    monkeypatch.setenv("GATE_TEST_GC_AT_PARSE", "not parsed")  # restored (unset) after the test
    reads = "import gc, os\nos.environ['GATE_TEST_GC_AT_PARSE'] = str(gc.isenabled())\n"
    (tmp_path / "alpha.py").write_text(TINY_DAG.format(dag_id="alpha", reads=reads))

    loaded = loader.load(tmp_path)

    assert sorted(loaded.dags) == ["alpha"]
    assert os.environ["GATE_TEST_GC_AT_PARSE"] == "False"  # off while the file ran
    assert gc.isenabled()  # and on again after


def test_what_a_dag_file_opens_under_the_repository_is_recorded_by_its_repository_path(tmp_path):
    import repository
    from gate import loader

    outside = tmp_path / "outside.sql"
    outside.write_text("SELECT 1")
    inside = sorted((repository.SQL / "redshift" / "ddl").glob("*.sql"))[0]
    reads = (
        f"open({str(inside)!r}).read()\nopen({str(outside)!r}).read()\n"
        f"import os\nos.listdir({str(inside.parent)!r})\n"  # a listing is not a read
    )
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "reader.py").write_text(TINY_DAG.format(dag_id="reader", reads=reads))

    loaded = loader.load(folder)

    assert sorted(loaded.dags) == ["reader"]
    assert loader._READS[(folder / "reader.py").resolve()] == {str(inside.relative_to(repository.ROOT))}


def test_a_run_of_some_dags_adds_their_reads_to_the_record_and_a_run_of_all_replaces_it(
    tmp_path, monkeypatch, dags_folder, loaded
):
    """--dag ID parses one file: the record keeps every other file's reads; a whole parse is the record."""
    from gate import inventory, loader

    chosen = "redshift__01_create_tables"
    target = tmp_path / "dag-reads.json"
    target.write_text(json.dumps({"dags/removed_meanwhile.py": ["sql/redshift/ddl/gone.sql"]}))
    monkeypatch.setenv(inventory.SELECTED_DAGS, chosen)

    loader.write_reads(loader.load(dags_folder), target)
    some = json.loads(target.read_text())
    monkeypatch.delenv(inventory.SELECTED_DAGS)
    loader.write_reads(loaded, target)
    every = json.loads(target.read_text())

    assert sorted(some) == [f"dags/{chosen}.py", "dags/removed_meanwhile.py"]
    assert {"dags/redshift/tables.yaml", "sql/redshift/ddl/category.sql"} <= set(some[f"dags/{chosen}.py"])
    # the DAG file's imports (plugins/, their __pycache__) are opened too: not what a change of one DAG means
    assert [read for read in some[f"dags/{chosen}.py"] if not read.startswith(("dags/", "sql/"))] == []
    assert sorted(every) == sorted(str(path.relative_to(loader.repository.ROOT)) for path in loaded.files)
    assert every[f"dags/{chosen}.py"] == some[f"dags/{chosen}.py"]


def test_the_dag_id_is_the_first_positional_argument():
    """The scheduler's DAG of Airflow 3.0 (what `from airflow import DAG` gives) takes more than the dag_id
    by position."""
    if len(DAG_CLASSES) == 1:
        pytest.skip("this Airflow's DAG takes only the dag_id by position")
    with _DagKwargsRecorder() as recorder:
        DAG_CLASSES[-1]("redshift__positional", False, schedule=None)

    assert recorder.kwargs == {"redshift__positional": frozenset({"dag_id", "schedule"})}


def test_a_read_through_os_open_is_recorded(tmp_path):
    """os.open raises the same audit event as open(), without a mode."""
    import repository
    from gate import loader

    inside = sorted((repository.SQL / "redshift" / "ddl").glob("*.sql"))[0]
    reads = f"import os\nos.close(os.open({str(inside)!r}, os.O_RDONLY))\n"
    (tmp_path / "low_level.py").write_text(TINY_DAG.format(dag_id="low_level", reads=reads))

    loaded = loader.load(tmp_path)

    assert sorted(loaded.dags) == ["low_level"]
    assert loader._READS[(tmp_path / "low_level.py").resolve()] == {str(inside.relative_to(repository.ROOT))}


def test_a_record_that_cannot_be_written_does_not_stop_the_parse(tmp_path, monkeypatch, dags_folder):
    """A read-only checkout: the session's parse still serves the tests (the pre-push hook then tests every
    DAG). The record's folder is a file here, which no user (root included) can write into."""
    from gate import loader

    (tmp_path / "build").write_text("a file where the record's folder would be")
    unwritable = tmp_path / "build" / "dag-reads.json"
    monkeypatch.setattr(loader.write_reads, "__defaults__", (unwritable,))
    monkeypatch.setattr(loader, "_LOADED", {})

    loaded = loader.load_once(dags_folder)

    assert loader._LOADED == {dags_folder.resolve(): loaded} and loaded.dags
    assert (tmp_path / "build").is_file()


def test_the_modules_warmed_are_those_every_readable_file_imports_absolutely(tmp_path):
    from gate.loader import _imported_modules

    broken = tmp_path / "a_broken.py"
    broken.write_text("import json\ndef (:\n")
    good = tmp_path / "b_good.py"
    good.write_text("import os, csv\nfrom pathlib import Path\nfrom . import sibling\nfrom .x import y\n")

    assert _imported_modules([broken, good]) == ["csv", "os", "pathlib"]


def test_the_dag_files_are_those_airflow_s_safe_mode_would_parse(tmp_path):
    """Safe mode skips a .py file that mentions neither "airflow" nor "dag" (a helper module)."""
    from gate.loader import dag_files

    (tmp_path / "helpers.py").write_text("VALUE = 1\n")
    (tmp_path / "beta.py").write_text(TINY_DAG.format(dag_id="beta", reads=""))

    assert dag_files(tmp_path) == [tmp_path / "beta.py"]


def test_the_record_s_folders_are_made(tmp_path, monkeypatch, dags_folder):
    from gate import inventory, loader

    monkeypatch.setenv(inventory.SELECTED_DAGS, "redshift__01_create_tables")
    target = tmp_path / "build" / "test-gate" / "dag-reads.json"

    loader.write_reads(loader.load(dags_folder), target)

    assert list(json.loads(target.read_text())) == ["dags/redshift__01_create_tables.py"]


def test_the_record_keeps_only_reads_under_the_dag_and_sql_folders(monkeypatch):
    """A read elsewhere (configuration, a plugin's source) is no file a change of which affects one DAG."""
    import tempfile

    import repository
    from gate import loader

    repository.BUILD.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=repository.BUILD) as folder:
        dags = Path(folder)
        sql = sorted((repository.SQL / "redshift" / "ddl").glob("*.sql"))[0]
        config = repository.ROOT / "config" / "variables.json"
        reads = f"open({str(sql)!r}).read()\nopen({str(config)!r}).read()\n"
        (dags / "reader.py").write_text(TINY_DAG.format(dag_id="reader", reads=reads))
        monkeypatch.setattr(repository, "DAGS", dags)
        target = dags / "record" / "dag-reads.json"

        loader.write_reads(loader.load(dags), target)

        assert json.loads(target.read_text()) == {
            str((dags / "reader.py").relative_to(repository.ROOT)): [str(sql.relative_to(repository.ROOT))]
        }


def test_the_warm_up_imports_what_the_dag_files_import_before_they_are_parsed(tmp_path, monkeypatch):
    """So that each file's parse time is its own work, not the first import of what every file shares."""
    from gate.loader import _warm_shared_imports

    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "shared_by_dags_probe.py").write_text("VALUE = 1\n")
    dag_file = tmp_path / "uses_shared.py"
    dag_file.write_text("import shared_by_dags_probe  # noqa: F401\n")
    monkeypatch.delitem(sys.modules, "shared_by_dags_probe", raising=False)

    assert _warm_shared_imports([dag_file]) >= 0
    assert "shared_by_dags_probe" in sys.modules
