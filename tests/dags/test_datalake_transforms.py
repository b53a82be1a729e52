"""What the data-lake jobs compute, run on real engines: the Glue job's column mapping and the gold CTAS.

The Glue script's Spark SQL expressions and the gold SELECTs are transpiled with sqlglot and run in DuckDB
over the TICKIT sample files, laid out as the crawler sees them (headerless, columns col0..colN).
"""

from __future__ import annotations

import ast
import importlib.util
from decimal import Decimal

import duckdb
import jinja2
import pytest
import sqlglot
from sqlglot import exp

from lakehouse import layout
from sample_data.bucket import local_sample, redshift_spec, sample_files
from sql_statements import parse_statement
from sample_data.tickit import read_rows
from tests.dags.lake_support import VARIABLES, render

REDSHIFT_TO_SPARK = {
    "INT": "int",
    "SMALLINT": "smallint",
    "VARCHAR": "string",
    "CHAR": "string",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}


@pytest.fixture(scope="module")
def refine_script(dags_folder):
    """The Glue job script, imported as a module (its Glue imports live inside main())."""
    spec = importlib.util.spec_from_file_location(
        "tickit_refine", dags_folder / "glue_scripts" / "tickit_refine.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def redshift_columns(repo_root, ddl: str) -> list[tuple[str, str]]:
    """(name, Spark type) of each column of the DDL file `ddl` (relative to sql/), in order."""
    text = jinja2.Template((repo_root / "sql" / ddl).read_text())
    create = parse_statement(text.render(params={"schema": "tickit"}), "redshift")
    columns = []
    for column in create.this.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        kind = column.args["kind"]
        if kind.this == exp.DataType.Type.DECIMAL:
            precision, scale = (param.name for param in kind.expressions)
            columns.append((column.name, f"decimal({precision},{scale})"))
        else:
            columns.append((column.name, REDSHIFT_TO_SPARK[kind.this.value]))
    return columns


SPEC = redshift_spec()
TABLES = [table.name for table in SPEC.tables]


@pytest.mark.parametrize("table", SPEC.tables, ids=lambda table: table.name)
def test_glue_job_columns_match_the_tickit_schema(refine_script, repo_root, table):
    """datalake__01_tickit_refine runs the Glue job for every table of dags/redshift/tables.yaml."""
    assert table.name in refine_script.COLUMNS, (
        f"table '{table.name}' (dags/redshift/tables.yaml) is refined by the Glue job, which does not know "
        f"its columns. Fix: add COLUMNS['{table.name}'] to dags/glue_scripts/tickit_refine.py: "
        f"{tuple(redshift_columns(repo_root, table.ddl))}"
    )
    assert list(refine_script.COLUMNS[table.name]) == redshift_columns(repo_root, table.ddl)


def test_glue_job_script_is_python_that_glue_4_runs(dags_folder):
    script = dags_folder / "glue_scripts" / "tickit_refine.py"
    ast.parse(script.read_text(), str(script), feature_version=(3, 10))  # Glue 4.0 runs Python 3.10


def test_glue_job_rejects_an_unknown_table(refine_script):
    with pytest.raises(ValueError, match="unknown TICKIT table 'tickets'"):
        refine_script.select_expressions("tickets")


@pytest.fixture(scope="module")
def sample():
    return local_sample(seed=11)


@pytest.fixture(scope="module")
def raw_files(tmp_path_factory, sample) -> dict:
    """The sample of local runs: {S3 key: file}."""
    return sample_files(tmp_path_factory.mktemp("raw"), sample)


@pytest.fixture(scope="module")
def lake(refine_script, raw_files):
    """DuckDB holding the refined tables, made by the Glue job's expressions from the raw sample files."""
    db = duckdb.connect()
    refined = VARIABLES["glue_database_refined"]
    db.execute(f'CREATE SCHEMA "{refined}"')
    for table in TABLES:
        paths = [str(path) for key, path in raw_files.items() if key.startswith(layout.full_prefix(table))]
        width = len(refine_script.COLUMNS[table])
        names = [f"col{i}" for i in range(width)]
        raw = f"read_csv({paths}, delim='|', header=false, all_varchar=true, names={names}, quote='')"
        spark_select = f"SELECT {', '.join(refine_script.select_expressions(table))} FROM raw"
        select = sqlglot.transpile(spark_select, read="spark", write="duckdb")[0].replace(
            "FROM raw", f"FROM {raw}"
        )
        db.execute(f'CREATE TABLE "{refined}"."{table}" AS {select}')
    return db


def test_refined_tables_keep_every_row_with_typed_columns(lake, raw_files):
    refined = VARIABLES["glue_database_refined"]
    for table in TABLES:
        (count,) = lake.execute(f'SELECT count(*) FROM "{refined}"."{table}"').fetchone()
        rows = [
            row
            for key, path in raw_files.items()
            if key.startswith(f"raw/tickit/{table}/")
            for row in read_rows(path)
        ]
        assert count == len(rows) > 0, table
    types = {row[0]: row[1] for row in lake.execute(f'DESCRIBE "{refined}".sales').fetchall()}
    assert types["salesid"] == "INTEGER" and types["pricepaid"] == "DECIMAL(8,2)"
    assert types["saletime"].startswith("TIMESTAMP")  # Spark's timestamp is zone-aware: TIMESTAMPTZ here


def gold_select(gold_dag, table: str) -> str:
    """The SELECT of the gold CTAS, as Athena would run it, in DuckDB's dialect."""
    create = parse_statement(render(gold_dag.task_dict[f"{table}.create_table"], "query"), "trino")
    return create.expression.sql(dialect="duckdb")


@pytest.mark.parametrize("table", ["sales_by_category", "sales_by_date"])
def test_gold_aggregates_account_for_every_sale(dag_bag, lake, sample, table):
    select = gold_select(dag_bag.dags["datalake__02_tickit_gold"], table)
    totals = lake.execute(f"SELECT sum(sales_count), sum(tickets_sold), sum(total_sales) FROM ({select})")
    rows = totals.fetchone()
    sales = sample.initial["sales"]
    assert rows == (len(sales), sum(row[6] for row in sales), sum(Decimal(row[7]) for row in sales))


def test_the_athena_check_of_the_unload_counts_the_categories_whose_sales_add_up_above_zero(dag_bag):
    """redshift__05's check over the crawled UNLOAD output, in DuckDB: a category whose amounts add up to
    exactly 0 has no sales; one row per seller and buyer of a category is one category."""
    task = dag_bag.dags["redshift__05_catalog_sales_by_category"].task_dict["check_sales_by_category"]
    query = sqlglot.transpile(render(task, "query"), read="trino", write="duckdb")[0]
    unload = duckdb.connect()
    database = VARIABLES["glue_database_unload"]
    unload.execute(f'CREATE SCHEMA "{database}"')
    columns = "catgroup VARCHAR, catname VARCHAR, sale_amount DECIMAL(8,2)"
    unload.execute(f'CREATE TABLE "{database}".sales_by_category ({columns})')
    rows = [
        ("Shows", "Musicals", "10.00"),
        ("Shows", "Musicals", "0.50"),  # a second seller/buyer pair of the same category
        ("Shows", "Plays", "0.00"),  # sales adding up to exactly 0
        ("Concerts", "Pop", "-1.00"),
        ("Concerts", "Pop", "1.00"),  # again 0 in all
        ("Concerts", "Jazz", "0.01"),
    ]
    unload.executemany(f'INSERT INTO "{database}".sales_by_category VALUES (?, ?, ?)', rows)
    assert unload.execute(query).fetchall() == [(2,)]
