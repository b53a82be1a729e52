"""The data-lake DAGs: crawler targets, Glue job arguments and Athena SQL, rendered as at run time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlglot
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from sqlglot import exp

from compat import airflow as airflow_compat
from gate.loader import dag_files
from lakehouse.assets import REFINED_TABLES
from sample_data.bucket import redshift_spec
from sql_statements import parse_statement, parse_statements
from tests.dags.lake_support import VARIABLES, render

TABLES = [table.name for table in redshift_spec().tables]

REFINE = "datalake__01_tickit_refine"
GOLD = "datalake__02_tickit_gold"
BUCKET = VARIABLES["lakehouse_bucket"]
GOLD_TABLES = ("sales_by_category", "sales_by_date")


@pytest.fixture(scope="module")
def refine(dag_bag):
    return dag_bag.dags[REFINE]


@pytest.fixture(scope="module")
def gold(dag_bag):
    return dag_bag.dags[GOLD]


def crawler_paths(task) -> list[str]:
    return [target["Path"] for target in render(task, "config")["Targets"]["S3Targets"]]


# Glue crawlers and jobs


def test_raw_crawler_catalogs_one_folder_per_tickit_table(refine):
    crawl_raw = refine.task_dict["crawl_raw"]
    config = render(crawl_raw, "config")
    assert config["DatabaseName"] == VARIABLES["glue_database_raw"]
    assert config["Role"] == VARIABLES["glue_crawler_role_arn"]
    assert crawler_paths(crawl_raw) == [f"s3://{BUCKET}/raw/tickit/{table}/" for table in TABLES]


def test_each_table_has_a_glue_job_with_rendered_arguments(refine):
    for table in TABLES:
        job = refine.task_dict[f"refine.refine_{table}"]
        assert render(job, "job_name") == f"tickit_refine_{table}"
        assert render(job, "script_args") == {
            "--table": table,
            "--raw_database": VARIABLES["glue_database_raw"],
            "--target_path": f"s3://{BUCKET}/refined/tickit/{table}/",
        }
        assert render(job, "iam_role_arn") == VARIABLES["glue_job_role_arn"]
        assert render(job, "s3_bucket") == BUCKET
        assert render(job, "create_job_kwargs")["GlueVersion"]


def test_glue_jobs_run_the_script_shipped_in_the_bundle(refine, dags_folder):
    for table in TABLES:
        job = refine.task_dict[f"refine.refine_{table}"]
        script = Path(job.script_location)
        assert script == dags_folder / "glue_scripts" / "tickit_refine.py" and script.is_file()
        assert job.replace_script_file, "the uploaded script must follow the deployed bundle"


def test_refined_crawler_catalogs_exactly_what_the_jobs_write(refine):
    crawl_refined = refine.task_dict["crawl_refined"]
    written = [render(refine.task_dict[f"refine.refine_{t}"], "script_args")["--target_path"] for t in TABLES]
    assert crawler_paths(crawl_refined) == written
    assert render(crawl_refined, "config")["DatabaseName"] == VARIABLES["glue_database_refined"]


def test_refine_runs_crawl_then_jobs_then_crawl_and_announces_the_refined_tables(refine, gold):
    jobs = {f"refine.refine_{table}" for table in TABLES}
    assert refine.task_dict["crawl_raw"].downstream_task_ids == jobs
    assert refine.task_dict["crawl_refined"].upstream_task_ids == jobs
    assert refine.task_dict["crawl_refined"].outlets == [REFINED_TABLES]
    assert list(airflow_compat.schedule_assets(gold)) == [REFINED_TABLES]


def test_dag_processor_skips_the_runtime_folders(tmp_path, dags_folder):
    """Airflow 3 reads .airflowignore as globs: DAG-like files in glue_scripts/, hudi/, redshift/ (the table
    specs), sql/ are skipped."""
    shutil.copy(dags_folder / ".airflowignore", tmp_path)
    probe = "from airflow.sdk import DAG  # a file the DAG processor would parse\n"
    for folder in ("glue_scripts", "hudi", "redshift", "sql", "elsewhere"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "probe.py").write_text(probe)
    assert dag_files(tmp_path) == [tmp_path / "elsewhere" / "probe.py"]


# Athena


def athena_tasks(dag) -> dict[str, AthenaOperator]:
    tasks = {task_id: task for task_id, task in dag.task_dict.items() if isinstance(task, AthenaOperator)}
    assert len(tasks) == 1 + 3 * len(GOLD_TABLES), sorted(tasks)
    return tasks


def athena_dialect(sql: str) -> str:
    """Athena runs DDL (other than CTAS) on its Hive engine and everything else on Trino."""
    statement = parse_statement(sql, "hive")
    is_ctas = isinstance(statement, exp.Create) and statement.expression is not None
    return "hive" if isinstance(statement, (exp.Drop, exp.Create)) and not is_ctas else "trino"


def test_every_athena_query_parses_without_fallback(gold):
    for task_id, task in athena_tasks(gold).items():
        sql = render(task, "query")
        dialect = athena_dialect(sql)
        statements = parse_statements(sql, dialect, error_level=sqlglot.ErrorLevel.RAISE)
        assert len(statements) == 1, f"{task_id}: Athena runs one statement per query"
        assert not isinstance(
            statements[0], exp.Command
        ), f"{task_id}: parsed as an opaque command ({dialect})"
        assert render(task, "workgroup") == VARIABLES["athena_workgroup"]
        assert render(task, "output_location") == VARIABLES["athena_results_s3_uri"]


def ctas_properties(statement: exp.Create) -> dict[str, exp.Expression]:
    """The WITH (...) properties of a CTAS by name: format, external_location, partitioned_by, ..."""
    found = {}
    for prop in statement.args["properties"].expressions:
        if isinstance(prop, exp.FileFormatProperty):
            found["format"] = prop.this
        elif isinstance(prop, exp.PartitionedByProperty):
            found["partitioned_by"] = prop.this
        elif isinstance(prop, exp.Property):
            found[prop.name.lower()] = prop.args["value"]
    return found


@pytest.mark.parametrize("table", GOLD_TABLES)
def test_gold_ctas_writes_partitioned_parquet_where_the_dag_clears(gold, table):
    create = parse_statement(render(gold.task_dict[f"{table}.create_table"], "query"), "trino")
    assert isinstance(create, exp.Create) and create.this.name == table
    properties = ctas_properties(create)
    assert properties["format"].name == "PARQUET"
    cleared = render(gold.task_dict[f"{table}.clear_location"], "prefix")
    assert render(gold.task_dict[f"{table}.clear_location"], "bucket") == BUCKET
    assert properties["external_location"].name == f"s3://{BUCKET}/{cleared}"
    partition_columns = [column.name for column in properties["partitioned_by"].expressions]  # literals
    selected = [column.alias_or_name for column in create.expression.selects]
    assert partition_columns and selected[-len(partition_columns) :] == partition_columns
    sources = {(t.db, t.name) for t in create.expression.find_all(exp.Table)}
    assert sources and {db for db, _ in sources} == {VARIABLES["glue_database_refined"]}
    assert {name for _, name in sources} <= set(TABLES)


@pytest.mark.parametrize("table", GOLD_TABLES)
def test_gold_group_drops_clears_creates_and_checks_the_table(gold, table):
    order = ["drop_table", "clear_location", "create_table", "check_not_empty"]
    for upstream, downstream in zip(order, order[1:]):
        assert gold.task_dict[f"{table}.{upstream}"].downstream_task_ids == {f"{table}.{downstream}"}
    assert gold.task_dict[f"{table}.drop_table"].upstream_task_ids == {"create_database"}
    for step in ("drop_table", "create_table", "check_not_empty"):
        assert render(gold.task_dict[f"{table}.{step}"], "database") == VARIABLES["glue_database_gold"]
    check = parse_statement(render(gold.task_dict[f"{table}.check_not_empty"], "query"), "trino")
    assert [t.name for t in check.find_all(exp.Table)] == [table]
    assert isinstance(check.selects[0].this, exp.Count)


def test_gold_database_is_created_with_the_name_of_the_variable(gold):
    create = parse_statement(render(gold.task_dict["create_database"], "query"), "hive")
    assert create.args["kind"] == "DATABASE" and create.args.get("exists")
    assert create.this.name == VARIABLES["glue_database_gold"]
