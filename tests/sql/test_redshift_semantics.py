"""The Redshift DAGs' own SQL, rendered from their tasks and transpiled, on DuckDB and PostgreSQL 15.

Expected contents come from the generated files alone (tests.sql.pipeline.expected_tables), never from
the engine under test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
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


@pytest.mark.parametrize("table", INCREMENTAL_TABLES)
def test_merge_check_counts_a_row_exactly_at_the_interval_end_and_not_one_second_before(
    pipeline, tickit_sample, table
):
    """The interval is [start, end): a row dated exactly at its end belongs to the next run's day."""
    sample, _ = tickit_sample
    first_day, *_ = sample.increments
    logical_date = datetime.fromisoformat(first_day).replace(tzinfo=timezone.utc)
    interval_end = logical_date + timedelta(days=1)  # the daily run's data interval: [logical date, +1 day)
    pipeline.create_tables()
    pipeline.initial_load()
    drop, create, copy = pipeline.sql(INCREMENTAL_DAG, f"{table}.copy_to_staging", logical_date)
    pipeline.engine.run_batch([drop, create])
    pipeline._copy(copy)
    staged, key, event_time = (
        staging_table(INCREMENTAL_DAG, table),
        TABLES[table].key,
        TABLES[table].event_time,
    )

    def stage_latest_row_at(moment: datetime) -> None:
        pipeline.engine.run(
            f"UPDATE tickit.{staged} SET {event_time} = CAST('{moment:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP) "
            f"WHERE {key} = (SELECT MAX({key}) FROM tickit.{staged})"
        )
        pipeline.engine.run_batch(pipeline.sql(INCREMENTAL_DAG, f"{table}.merge", logical_date))

    stage_latest_row_at(interval_end - timedelta(seconds=1))
    pipeline.check(INCREMENTAL_DAG, f"{table}.check", logical_date)  # the interval's last second: in it
    stage_latest_row_at(interval_end)
    with pytest.raises(CheckFailed, match=r"\('staged_rows_after_interval', 1\)"):
        pipeline.check(INCREMENTAL_DAG, f"{table}.check", logical_date)


def test_merge_check_fails_on_an_empty_extract(pipeline, tickit_sample):
    """A day whose extract holds no rows (a missing or empty file) is a failed load, not a quiet day."""
    sample, _ = tickit_sample
    logical_date = datetime.fromisoformat(min(sample.increments)).replace(tzinfo=timezone.utc)
    pipeline.create_tables()
    pipeline.initial_load()
    drop, create, _copy = pipeline.sql(INCREMENTAL_DAG, "sales.copy_to_staging", logical_date)
    pipeline.engine.run_batch([drop, create])  # nothing copied
    pipeline.engine.run_batch(pipeline.sql(INCREMENTAL_DAG, "sales.merge", logical_date))
    with pytest.raises(CheckFailed, match=r"\[\('staging_empty', 1\)\]"):
        pipeline.check(INCREMENTAL_DAG, "sales.check", logical_date)


def test_merge_check_names_staged_rows_the_merge_did_not_insert(pipeline, tickit_sample):
    """The merge's DELETE without its INSERT: the staged rows are gone from the table; the check says so."""
    sample, _ = tickit_sample
    logical_date = datetime.fromisoformat(min(sample.increments)).replace(tzinfo=timezone.utc)
    pipeline.create_tables()
    pipeline.initial_load()
    drop, create, copy = pipeline.sql(INCREMENTAL_DAG, "sales.copy_to_staging", logical_date)
    pipeline.engine.run_batch([drop, create])
    pipeline._copy(copy)
    delete, _insert = pipeline.sql(INCREMENTAL_DAG, "sales.merge", logical_date)
    pipeline.engine.run_batch([delete])
    with pytest.raises(CheckFailed, match=r"\[\('staged_rows_not_in_target', [1-9]\d*\)\]"):
        pipeline.check(INCREMENTAL_DAG, "sales.check", logical_date)


# Each reference the check guards: (check, fact table, its column, the table it points at, that table's key).
REFERENCES = [
    ("sales_without_listing", "sales", "listid", "listing", "listid"),
    ("sales_without_buyer", "sales", "buyerid", "users", "userid"),
    ("listings_without_event", "listing", "eventid", "event", "eventid"),
    ("events_without_category", "event", "catid", "category", "catid"),
    ("sales_without_date", "sales", "dateid", "date", "dateid"),
]


@pytest.mark.parametrize("check, fact, column, target, key", REFERENCES, ids=[r[0] for r in REFERENCES])
def test_references_check_names_exactly_the_broken_reference_and_its_rows(
    pipeline, check, fact, column, target, key
):
    """One referenced row deleted: that check alone fails, counting the rows that pointed at it."""
    pipeline.create_tables()
    pipeline.initial_load()
    ((value, orphans),) = pipeline.engine.run(
        f"SELECT {column}, COUNT(*) FROM tickit.{fact} GROUP BY {column} "
        f"ORDER BY COUNT(*) DESC, {column} LIMIT 1"
    )
    pipeline.engine.run(f"DELETE FROM tickit.{target} WHERE {key} = {value}")
    with pytest.raises(CheckFailed, match=rf"failed checks \[\('{check}', {orphans}\)\]$"):
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
