"""tools/benchmarks/dag_loop.py: its synthetic DAGs are real DAGs, and the edit it pushes changes them."""

from __future__ import annotations

import importlib.util

import repository
from compat import airflow as airflow_compat

SCRIPT = repository.ROOT / "tools/benchmarks/dag_loop.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("dag_loop_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_synthetic_dag_parses_under_its_id_and_carries_the_text_the_pushed_edit_changes(tmp_path):
    source = load_benchmark().synthetic_dag_template().format(n=1, dag_id="datalake__bench_0001", tasks=1)
    (tmp_path / "datalake__bench_0001.py").write_text(source)
    bag = airflow_compat.dag_bag(tmp_path)

    assert bag.import_errors == {}
    assert list(bag.dags) == ["datalake__bench_0001"]
    assert "Synthetic benchmark DAG" in source
