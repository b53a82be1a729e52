"""The Redshift DAGs' own SQL, rendered from their tasks and transpiled, on DuckDB and PostgreSQL 15.

Expected contents come from the generated files alone (tests.sql.pipeline.expected_tables), never from
the engine under test.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from lakehouse.redshift import staging_table
from sample_data.tickit import COLUMNS, INCREMENTAL
from tests.sql.pipeline import (
    INCREMENTAL_DAG,
    INCREMENTAL_TABLES,
    TABLES,
    CheckFailed,
    as_file_text,
    expected_tables,
    sales_by_category,
)


def snapshot(pipeline) -> dict:
    return {table: pipeline.table(table) for table in TABLES}


def test_initial_load_equals_the_files(pipeline, tickit_sample):
    _, files = tickit_sample
    pipeline.create_tables()
    pipeline.initial_load()
    expected = expected_tables(files, through_ds="")
    for table in TABLES:
        assert expected[table], f"the sample has no {table} rows"
        assert pipeline.table(table) == expected[table], f"tickit.{table} differs from its file"


def test_loading_everything_twice_changes_nothing(pipeline):
    pipeline.load_everything()
    once = snapshot(pipeline)
    pipeline.load_everything()  # CREATE ... IF NOT EXISTS keeps the rows; each merge replaces its rows
    assert snapshot(pipeline) == once


def test_increments_apply_new_and_changed_rows(pipeline, tickit_sample):
    sample, files = tickit_sample
    pipeline.create_tables()
    pipeline.initial_load()
    before = snapshot(pipeline)
    for ds in sample.increments:
        pipeline.incremental_load(ds)
    after = snapshot(pipeline)
    final = expected_tables(files)
    assert set(INCREMENTAL) <= set(INCREMENTAL_TABLES)
    for table in INCREMENTAL:  # the generator's: it knows which rows it changed
        changed = set().union(*(keys[table] for keys in sample.changed_keys.values()))
        changed = {str(key) for key in changed}
        new = set(final[table]) - set(before[table])
        assert changed and new, f"the sample has no changed or no new {table} rows"
        assert changed <= set(before[table]), "changed rows must be rows of the initial load"
        assert len(after[table]) == len(before[table]) + len(new)
        for key in changed:
            assert after[table][key] == final[table][key], f"{table} {key} does not carry its new values"
            assert after[table][key] != before[table][key], f"{table} {key}: the change is not a change"
        assert after[table] == final[table]
        unchanged = set(before[table]) - changed
        assert all(after[table][key] == before[table][key] for key in unchanged)
    for table in set(TABLES) - set(INCREMENTAL_TABLES):
        assert after[table] == before[table]


def test_no_duplicate_keys_after_increments(pipeline):
    pipeline.load_everything()
    for table in TABLES:
        key = TABLES[table].key
        ((rows, keys),) = pipeline.engine.run(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM tickit.{table}")
        assert rows == keys > 0, f"tickit.{table}: {rows} rows for {keys} distinct {key}"


def test_rerunning_a_day_changes_nothing(pipeline, tickit_sample):
    sample, _ = tickit_sample
    first_day, *_ = sample.increments
    pipeline.create_tables()
    pipeline.initial_load()
    pipeline.incremental_load(first_day)
    once = snapshot(pipeline)
    pipeline.incremental_load(first_day)
    assert snapshot(pipeline) == once


def test_unload_query_equals_python_aggregate(pipeline, tickit_sample):
    _, files = tickit_sample
    pipeline.load_everything()
    expected = sales_by_category(expected_tables(files))
    found = {}
    for row in pipeline.engine.run(pipeline.unload_query()):
        key = tuple(as_file_text(v) if isinstance(v, str) else v for v in row[:8])
        found[key] = tuple(row[8:])
    assert set(found) == set(expected)
    for key, (sales, tickets, amount, commission, pct) in expected.items():
        got_sales, got_tickets, got_amount, got_commission, got_pct = found[key]
        assert (got_sales, got_tickets) == (sales, tickets), key
        assert (Decimal(str(got_amount)), Decimal(str(got_commission))) == (amount, commission), key
        # DuckDB divides decimals in double precision: allow the last rounded digit to differ.
        assert abs(Decimal(str(got_pct)) - pct) <= Decimal("0.01"), key


def test_merge_check_reports_rows_after_the_interval_and_duplicate_keys(pipeline, tickit_sample):
    sample, _ = tickit_sample
    first_day, *_ = sample.increments
    pipeline.create_tables()
    pipeline.initial_load()
    with pytest.raises(CheckFailed) as no_day_yet:
        # The first day's run with the second day's files copied in as well: a misplaced extract.
        logical_date = pipeline.first_day.replace(
            year=int(first_day[:4]), month=int(first_day[5:7]), day=int(first_day[8:])
        )
        drop, create, copy = pipeline.sql(INCREMENTAL_DAG, "sales.copy_to_staging", logical_date)
        pipeline.engine.run_batch([drop, create])
        pipeline._copy(copy.replace(f"ds={first_day}/", "ds="))
        pipeline.engine.run_batch(pipeline.sql(INCREMENTAL_DAG, "sales.merge", logical_date))
        pipeline.check(INCREMENTAL_DAG, "sales.check", logical_date)
    assert "staged_rows_after_interval" in str(no_day_yet.value)
    assert "duplicate_keys" not in str(no_day_yet.value)
    staged = staging_table(INCREMENTAL_DAG, "sales")
    pipeline.engine.run(f"INSERT INTO tickit.sales SELECT * FROM tickit.{staged}")
    with pytest.raises(CheckFailed, match="duplicate_keys"):
        pipeline.check(INCREMENTAL_DAG, "sales.check", logical_date)


def test_references_check_names_a_sale_without_listing(pipeline):
    pipeline.create_tables()
    pipeline.initial_load()
    pipeline.engine.run("DELETE FROM tickit.listing WHERE listid IN (SELECT MIN(listid) FROM tickit.sales)")
    with pytest.raises(CheckFailed, match="sales_without_listing"):
        pipeline.check("redshift__02_initial_load", "check_references", pipeline.first_day)


def test_file_columns_are_the_ddl_columns(pipeline):
    pipeline.create_tables()
    for table in TABLES:
        rows = pipeline.engine.run(f"SELECT * FROM tickit.{table} LIMIT 0")
        assert rows == []
    from sqlglot import exp

    from sql_statements import parse_statement

    assert set(COLUMNS) <= set(TABLES), "the generator writes a table the spec does not have"
    for table in TABLES:
        (ddl,) = [
            s
            for s in pipeline.sql("redshift__01_create_tables", "create_schema_and_tables")
            if f".{table} (" in s
        ]
        columns = tuple(c.name for c in parse_statement(ddl, "redshift").find_all(exp.ColumnDef))
        assert columns == TABLES[table].columns, f"{TABLES[table].ddl}: the spec reads other columns"
        if table in COLUMNS:
            assert columns == COLUMNS[table], f"{TABLES[table].ddl} columns differ from sample_data COLUMNS"
