"""Every statement the Redshift DAGs send parses in sqlglot's Redshift dialect, fully (no Command fallback).

UNLOAD is the one statement sqlglot does not model: its inner query is parsed on its own, and the clauses
around it are checked for the options the data lake relies on.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from lakehouse import layout
from lakehouse.redshift import staging_table
from tests.dags.rendering import normal_run, render_task, rendered_sql, variable_values
from tests.sql.engines import unload_parts
from gate import inventory
from gate.template_files import sql_location
from sql_statements import parse_statements

LOGICAL_DATE = datetime(2008, 3, 1, tzinfo=timezone.utc)
INVENTORY = inventory.read()
REDSHIFT_DAGS = sorted(dag_id for dag_id in INVENTORY if dag_id.startswith("redshift__"))
VARIABLES = variable_values()


def tasks_of(loaded, dag_id: str, operator: type) -> list:
    assert dag_id in loaded.dags, f"{dag_id} (in tools/gate/inventory.json) did not load"
    return [task for task in loaded.dags[dag_id].tasks if isinstance(task, operator)]


def parse_one_statement(
    sql: str, where: str, dialect: str = "redshift", task=None, raw=None
) -> exp.Expression:
    """The one statement of `sql`; a syntax error names the .sql file and line of `raw` (the task's
    unrendered text) when `task` is given, the task and the statement."""
    try:
        trees = parse_statements(sql, dialect, error_level=ErrorLevel.RAISE)
    except ParseError as error:
        if task is None or not error.errors:
            raise
        first = error.errors[0]
        location = sql_location(task.dag.get_template_env(), raw, sql, first["line"], first["col"])
        pytest.fail(
            f"{location}: {where}: SQL syntax error ({dialect}): {first['description']} near "
            f"{first['highlight']!r}. Fix: correct the SQL there",
            pytrace=False,
        )
    assert len(trees) == 1, f"{where}: expected one statement, found {len(trees)}:\n{sql}"
    assert not isinstance(trees[0], exp.Command), f"{where}: sqlglot fell back to an unparsed Command:\n{sql}"
    return trees[0]


def run_of(task):
    """The run the task's DAG makes on LOGICAL_DATE's day (asset-triggered, scheduled or manual)."""
    return normal_run(task.dag, LOGICAL_DATE)


def test_every_redshift_dag_sends_sql():
    assert len(REDSHIFT_DAGS) >= 5, REDSHIFT_DAGS


@pytest.mark.parametrize("dag_id", REDSHIFT_DAGS)
def test_redshift_statements_parse(loaded, dag_id):
    parsed = 0
    for task in tasks_of(loaded, dag_id, RedshiftDataOperator):
        raw = [task.sql] if isinstance(task.sql, str) else list(task.sql)
        for number, sql in enumerate(rendered_sql(task, run_of(task))):
            where = f"{dag_id}.{task.task_id} statement {number + 1}"
            if re.match(r"\s*(--[^\n]*\n\s*)*UNLOAD\b", sql, re.IGNORECASE):
                query, _ = unload_parts(sql)
                assert isinstance(parse_one_statement(query, f"{where} (UNLOAD query)"), exp.Select)
            else:
                parse_one_statement(sql, where, task=task, raw=raw[number])
            parsed += 1
    athena = tasks_of(loaded, dag_id, AthenaOperator)
    for task in athena:
        parse_one_statement(
            render_task(task, run_of(task)).query, f"{dag_id}.{task.task_id}", "athena", task, task.query
        )
    assert parsed + len(athena) > 0, f"{dag_id} runs no SQL"


def test_unload_writes_partitioned_parquet_to_the_lake(loaded):
    (task,) = tasks_of(loaded, "redshift__04_unload_sales_by_category", RedshiftDataOperator)
    (sql,) = rendered_sql(task, run_of(task))
    _, options = unload_parts(sql)
    options = " ".join(options.split())
    target = layout.s3_uri(VARIABLES["lakehouse_bucket"], layout.UNLOAD_PREFIX)
    assert options.startswith(f"TO '{target}' IAM_ROLE '{VARIABLES['redshift_iam_role_arn']}'"), options
    for clause in ("FORMAT AS PARQUET", "PARTITION BY (catgroup, catname)", "CLEANPATH"):
        assert clause in options, f"UNLOAD lacks {clause}: {options}"


def test_unload_partition_columns_are_query_columns(loaded):
    (task,) = tasks_of(loaded, "redshift__04_unload_sales_by_category", RedshiftDataOperator)
    query, options = unload_parts(rendered_sql(task, run_of(task))[0])
    selected = {column.alias_or_name for column in parse_one_statement(query, "UNLOAD query").expressions}
    partitions = re.search(r"PARTITION BY \(([^)]*)\)", options).group(1)
    assert {c.strip() for c in partitions.split(",")} <= selected


@pytest.mark.parametrize("dag_id", ["redshift__02_initial_load", "redshift__03_incremental_load"])
def test_copy_reads_gzip_pipe_files_from_the_layout_with_the_role(loaded, dag_id):
    copies = [
        task
        for task in tasks_of(loaded, dag_id, RedshiftDataOperator)
        if task.task_id.endswith("copy_to_staging")
    ]
    assert copies
    for task in copies:
        table = task.task_id.split(".")[0]
        copy = parse_one_statement(rendered_sql(task, run_of(task))[-1], task.task_id)
        assert isinstance(copy, exp.Copy)
        assert copy.this.sql() == f"tickit.{staging_table(dag_id, table)}"
        prefix = (
            layout.full_prefix(table)
            if "initial" in dag_id
            else layout.incremental_prefix(table, "2008-03-01")
        )
        assert copy.args["files"][0].name == layout.s3_uri(VARIABLES["lakehouse_bucket"], prefix)
        assert VARIABLES["redshift_iam_role_arn"] in copy.args["credentials"].sql()
        options = {p.sql() for p in copy.args["params"]}
        assert {"DELIMITER '|'", "GZIP"} <= options, options


def test_every_redshift_sql_file_is_used(loaded, repo_root):
    """No orphaned SQL: each file under sql/redshift is sent by a task (or included by one).

    Airflow reads a task's .sql files when the DAG loads, so tasks hold the files' text.
    """
    sent = set()
    for dag_id in REDSHIFT_DAGS:
        for task in tasks_of(loaded, dag_id, RedshiftDataOperator):
            sent.update([task.sql] if isinstance(task.sql, str) else task.sql)
    included = {name for text in sent for name in re.findall(r"""include\s+["']([^"']+)["']""", text)}
    files = {
        str(p.relative_to(repo_root / "sql")): p.read_text()
        for p in (repo_root / "sql" / "redshift").rglob("*.sql")
    }
    unused = sorted(name for name, text in files.items() if text not in sent and name not in included)
    assert files and not unused, f"SQL files no task sends: {unused}"
