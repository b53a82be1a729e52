"""docs/dags.md: generated from a fixture folder (an asset chain, task groups, a cron and a manual schedule)
and from the repository's DAGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate import catalogue, inventory
from gate.loader import load

FIXTURE_DAGS = Path(__file__).with_name("catalogue_dags")


@pytest.fixture(scope="module")
def fixture_bag():
    loaded = load(FIXTURE_DAGS)
    assert not loaded.bag.import_errors, loaded.bag.import_errors
    assert sorted(loaded.dags) == ["by_hand", "consumer", "producer"]
    return loaded


@pytest.fixture(scope="module")
def fixture_docs(fixture_bag) -> str:
    return catalogue.render(fixture_bag)


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : None if end < 0 else end]


def mermaid(text: str) -> list[str]:
    block = text[text.index("```mermaid\n") + len("```mermaid\n") :]
    return block[: block.index("```")].splitlines()


def test_the_lake_graph_draws_assets_as_edges_between_dags(fixture_docs):
    assert mermaid(section(fixture_docs, "The lake")) == [
        "flowchart LR",
        '    dag_by_hand["by_hand<br/>manual (no schedule)"]',
        '    dag_consumer["consumer<br/>on assets orders and (prices or rates)"]',
        '    dag_producer["producer<br/>At 06:30, Monday through Friday (cron 30 6 * * 1-5 Europe/Paris, '
        'at the time)"]',
        '    dag_producer -->|"orders"| dag_consumer',
        '    asset_prices{{"prices (no producer)"}}',
        "    asset_prices --> dag_consumer",
        '    asset_rates{{"rates (no producer)"}}',
        "    asset_rates --> dag_consumer",
    ]


def test_task_groups_collapse_to_one_node_each(fixture_docs):
    # load holds first -> second -> inner.deep: one node of 3 tasks, no node of its own for a member.
    assert mermaid(section(fixture_docs, "producer")) == [
        "flowchart LR",
        '    n_start["start"]',
        '    n_load[["load (3 tasks)"]]',
        '    n_done["done"]',
        "    n_load --> n_done",
        "    n_start --> n_load",
    ]


def test_each_dag_has_its_schedule_assets_owner_tags_tasks_and_variables(fixture_docs):
    producer = section(fixture_docs, "producer").splitlines()
    assert producer[3] == "Produce the orders"  # the first line of its doc, without the heading marks
    assert producer[5:12] == [
        "- file: `dags/producer.py`",
        "- schedule: At 06:30, Monday through Friday (cron `30 6 * * 1-5` Europe/Paris, at the time); "
        "catch-up off, start 2023-12-31T23:00:00+00:00",
        "- consumes: none; produces: `orders`",
        "- owner: `orders-team`; tags: `fixture`",
        "- tasks: 5",
        "- Variables: `orders_bucket`",
        "- templates (SQL): none",
    ]
    assert "- schedule: manual (no schedule); catch-up off" in section(fixture_docs, "by_hand")
    assert "- consumes: `orders`, `prices`, `rates`; produces: none" in section(fixture_docs, "consumer")


def test_the_table_lists_every_dag_in_order(fixture_docs):
    rows = [line for line in fixture_docs.splitlines() if line.startswith("| [`")]
    assert rows == [
        "| [`by_hand`](#by_hand) | manual (no schedule) | Rebuild everything, by hand only. |",
        "| [`consumer`](#consumer) | on assets `orders` and (`prices` or `rates`) | Aggregate the orders "
        "once they are written. |",
        "| [`producer`](#producer) | At 06:30, Monday through Friday (cron `30 6 * * 1-5` Europe/Paris, at "
        "the time) | Produce the orders |",
    ]


def test_the_repository_catalogue_names_sql_files_and_their_includes(loaded):
    docs = catalogue.render(loaded)
    unload = section(docs, "redshift__04_unload_sales_by_category")
    # sql="redshift/unload/sales_by_category.sql" is read into the field at parse time; it includes the query.
    assert (
        "- templates (SQL): `redshift/unload/sales_by_category.sql`, "
        "`redshift/unload/sales_by_category_query.sql`"
    ) in unload
    assert "`redshift_iam_role_arn`" in unload  # a Variable used only inside the SQL file
    rows = [line.split("`")[1] for line in docs.splitlines() if line.startswith("| [`")]
    assert rows == sorted(inventory.read())


def test_an_asset_no_dag_waits_for_is_drawn_from_its_producer():
    entries = {
        "producer": {"schedule": "daily", "produces": ["orders"], "consumes": []},
        "consumer": {"schedule": "on assets", "produces": [], "consumes": ["prices"]},
    }
    assert catalogue.lake_graph(entries)[2:-1] == [
        '    dag_producer["producer<br/>daily"]',
        '    dag_consumer["consumer<br/>on assets"]',
        '    asset_orders{{"orders"}}',
        "    dag_producer --> asset_orders",
        '    asset_prices{{"prices (no producer)"}}',
        "    asset_prices --> dag_consumer",
    ]


def test_a_dag_without_doc_md_is_described_by_its_description():
    from airflow.sdk import DAG

    described = DAG(dag_id="described", schedule=None, description="\nLoad the sales.\nEvery night.")
    documented = DAG(dag_id="documented", schedule=None, description="Short.", doc_md="## Long\n")

    assert catalogue._doc_line(described) == "Load the sales."
    assert catalogue._doc_line(documented) == "Long"
    assert catalogue._doc_line(DAG(dag_id="bare", schedule=None)) == ""


def test_a_pipe_in_a_doc_line_does_not_break_the_table():
    assert catalogue._cell("a | b\nc") == "a \\| b c"


def test_another_folder_has_a_catalogue_only_when_named(monkeypatch, tmp_path):
    monkeypatch.delenv("GATE_DAGS_DOC_FILE", raising=False)
    assert catalogue.docs_file(tmp_path) is None
    assert catalogue.docs_file(catalogue.repository.DAGS) == catalogue.DOCS_FILE
    monkeypatch.setenv("GATE_DAGS_DOC_FILE", str(tmp_path / "dags.md"))
    assert catalogue.docs_file(tmp_path) == tmp_path / "dags.md"


def test_a_dag_without_doc_md_is_described_by_its_description_s_first_line():
    from airflow.sdk import DAG

    described = DAG("redshift__described", schedule=None, description="\n# Loads the sales.\nMore.")
    documented = DAG("redshift__documented", schedule=None, doc_md="Documented.", description="Described.")

    assert catalogue._doc_line(described) == "Loads the sales."
    assert catalogue._doc_line(documented) == "Documented."
    assert catalogue._doc_line(DAG("redshift__bare", schedule=None)) == ""
