"""sample_data.tickit: deterministic, seedable, laid out as the DAGs read it, with meaningful increments."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from lakehouse import layout
from sample_data.bucket import redshift_spec
from sample_data.tickit import COLUMNS, INCREMENTAL, generate, main, read_rows, sample_keys, write_files

# The generator writes the TICKIT tables of dags/redshift/tables.yaml; the spec may hold more tables, whose
# sample files are committed (sample_data.bucket).
SPEC = {table.name: table for table in redshift_spec().tables}


@pytest.fixture(scope="module")
def sample():
    return generate(seed=5)


def _bytes(folder) -> dict:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*.gz")}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    write_files(tmp_path / "a", seed=3)
    write_files(tmp_path / "b", seed=3)
    write_files(tmp_path / "c", seed=4)
    a, b, c = (_bytes(tmp_path / name) for name in "abc")
    assert a and a == b
    assert a.keys() == c.keys() and a != c


def test_generated_tables_are_tables_of_the_spec_with_its_columns_and_event_times():
    assert set(COLUMNS) <= set(SPEC), f"generated tables the spec lacks: {sorted(set(COLUMNS) - set(SPEC))}"
    for table, columns in COLUMNS.items():
        assert columns == SPEC[table].columns, f"{table}: the generator's columns are not {SPEC[table].ddl}'s"
    assert {table: SPEC[table].event_time for table in INCREMENTAL} == {
        "listing": "listtime",
        "sales": "saletime",
    }


def test_files_sit_at_the_keys_the_dags_copy_from(tmp_path, sample):
    written = write_files(tmp_path, sample)
    assert set(written) == sample_keys(sample.start)
    for table in COLUMNS:
        assert layout.full_key(table) in written, table
    for ds in sample.increments:
        assert {key for key in written if f"/ds={ds}/" in key} == {
            layout.incremental_key(table, ds) for table in INCREMENTAL
        }
    for key, path in written.items():
        assert path == tmp_path / key and path.stat().st_size > 0


def test_rows_have_the_table_columns_and_unique_keys(tmp_path, sample):
    written = write_files(tmp_path, sample)
    for table in COLUMNS:
        rows = read_rows(written[layout.full_key(table)])
        assert rows and all(len(row) == len(COLUMNS[table]) for row in rows), table
        keys = [row[COLUMNS[table].index(SPEC[table].key)] for row in rows]
        assert len(keys) == len(set(keys)), f"{table}: duplicate keys"


def test_default_is_two_months_of_sales_then_two_incremental_days(sample):
    assert (sample.start, sample.end) == (date(2008, 1, 1), date(2008, 3, 1))
    assert list(sample.increments) == ["2008-03-01", "2008-03-02"]
    saletimes = [row[COLUMNS["sales"].index("saletime")] for row in sample.initial["sales"]]
    assert min(saletimes).date() == date(2008, 1, 1) and max(saletimes).date() == date(2008, 2, 29)


def test_increments_hold_the_days_new_rows_and_changes_to_earlier_rows(sample):
    seen = {table: {row[0]: row for row in sample.initial[table]} for table in INCREMENTAL}
    for ds, tables in sample.increments.items():
        day = date.fromisoformat(ds)
        for table in INCREMENTAL:
            time_column = COLUMNS[table].index(SPEC[table].event_time)
            changed = sample.changed_keys[ds][table]
            assert changed, f"{ds} {table}: no changed rows"
            for row in tables[table]:
                assert row[time_column] < datetime.combine(day + timedelta(days=1), datetime.min.time())
                if row[0] in changed:
                    assert (
                        row[0] in seen[table] and row != seen[table][row[0]]
                    ), f"{table} {row[0]} not a change"
                else:
                    assert row[0] not in seen[table] and row[time_column].date() == day
                seen[table][row[0]] = row


def test_sales_are_consistent_with_their_listing(sample):
    listings = {row[0]: row for row in sample.initial["listing"]}
    for sale in sample.initial["sales"]:
        listing = listings[sale[1]]
        assert (sale[2], sale[4]) == (listing[1], listing[2])  # seller and event come from the listing
        assert sale[9] > listing[7], "sold before it was listed"
        assert sale[6] <= listing[4]


def test_a_sample_past_the_date_table_names_the_fix():
    with pytest.raises(ValueError, match="sample_data.tickit.*Fix: fewer months or days"):
        generate(months=30)


def test_command_line_writes_the_files_and_lists_their_keys(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--seed", "2", "--incremental-days", "1"]) == 0
    keys = capsys.readouterr().out.split()
    assert layout.full_key("sales") in keys and layout.incremental_key("sales", "2008-03-01") in keys
    assert all((tmp_path / key).is_file() for key in keys)
