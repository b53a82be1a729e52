"""lakehouse.paths: every DAG's SQL search path, from Airflow's configured DAG folder."""

from __future__ import annotations

import pytest

from gate import inventory
from gate.loader import load_once
from lakehouse.defaults import dag_settings
from lakehouse.paths import sql_folder


def test_every_shipped_dag_searches_the_sql_folder(loaded, repo_root):
    assert loaded.dags and set(loaded.dags) == set(inventory.read())
    searchpaths = {dag_id: dag.template_searchpath for dag_id, dag in sorted(loaded.dags.items())}
    assert searchpaths == {dag_id: [str(repo_root / "sql")] for dag_id in searchpaths}


def test_a_corpus_dag_outside_the_dags_folder_gets_the_same_search_path(repo_root):
    corpus = load_once(repo_root / "tests" / "gate" / "bad_dags")
    assert "redshift__catchup_on" in corpus.dags
    assert corpus.dags["redshift__catchup_on"].template_searchpath == [str(repo_root / "sql")]


def test_dag_settings_follow_the_configured_dags_folder(tmp_path, monkeypatch):
    (tmp_path / "dags" / "sql").mkdir(parents=True)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    assert dag_settings()["template_searchpath"] == [str((tmp_path / "dags" / "sql").resolve())]


def test_the_bundle_layout_wins_over_the_repository_layout(tmp_path):
    (tmp_path / "dags" / "sql").mkdir(parents=True)
    (tmp_path / "sql").mkdir()
    assert sql_folder(tmp_path / "dags") == tmp_path / "dags" / "sql"


def test_the_repository_layout_is_the_folder_beside_dags(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "sql").mkdir()
    assert sql_folder(tmp_path / "dags") == tmp_path / "sql"


def test_no_sql_folder_names_both_places_and_the_fix(tmp_path):
    (tmp_path / "dags").mkdir()
    with pytest.raises(FileNotFoundError) as error:
        sql_folder(tmp_path / "dags")
    message = str(error.value)
    assert str(tmp_path / "dags" / "sql") in message and str(tmp_path / "sql") in message
    assert "Fix: sync with ./sync_dags.sh" in message
