"""lakehouse.redshift_tables: the Redshift table spec is validated field by field against its DDL files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlglot
import yaml
from jinja2 import Template
from sqlglot import exp

import repository
from lakehouse.redshift_tables import (
    MAX_IDENTIFIER_BYTES,
    REQUIRED_FIELDS,
    SPEC,
    RedshiftTable,
    ddl_columns,
    load_spec,
)
from lakehouse.table_spec import TableSpecError

SHIPPED = repository.DAGS / SPEC
# A table the shipped spec does not have, whatever tables it gains.
NEW = next(
    f"probe_review{n}"
    for n in range(100)
    if f"probe_review{n}" not in {t.name for t in load_spec(SHIPPED, repository.SQL).tables}
)


@pytest.fixture
def spec_copy(tmp_path):
    """A copy of the shipped spec and of sql/; returns (spec file, its document, sql folder) to edit."""
    shutil.copytree(SHIPPED.parent, tmp_path / "dags" / "redshift")
    shutil.copytree(repository.SQL, tmp_path / "sql")
    spec = tmp_path / "dags" / SPEC
    return spec, yaml.safe_load(spec.read_text()), tmp_path / "sql"


def write(spec: Path, document: dict) -> Path:
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return spec


def entry(document: dict, name: str) -> dict:
    (found,) = [table for table in document["tables"] if table["name"] == name]
    return found


# The shipped spec


def test_shipped_spec_lists_the_tickit_tables_referenced_ones_first():
    spec = load_spec(SHIPPED, repository.SQL)
    names = [table.name for table in spec.tables]
    assert spec.schema == "tickit"
    assert {"users", "venue", "category", "date", "event", "listing", "sales"} <= set(names)
    # references.sql: sales -> listing, users; listing -> event; event -> category, venue; sales -> date
    for referenced, referencing in [
        ("listing", "sales"),
        ("users", "sales"),
        ("date", "sales"),
        ("event", "listing"),
        ("category", "event"),
        ("venue", "event"),
    ]:
        assert names.index(referenced) < names.index(referencing), f"{referenced} loads after {referencing}"
    by_name = {table.name: table for table in spec.tables}
    assert (by_name["sales"].key, by_name["sales"].event_time) == ("salesid", "saletime")
    assert (by_name["listing"].key, by_name["listing"].event_time) == ("listid", "listtime")
    assert {"listing", "sales"} <= {table.name for table in spec.incremental}
    assert by_name["users"].incremental is False


@pytest.mark.parametrize("table", load_spec(SHIPPED, repository.SQL).tables, ids=lambda t: t.name)
def test_columns_read_from_the_ddl_are_those_sqlglot_parses(table: RedshiftTable):
    text = Template((repository.SQL / table.ddl).read_text()).render(params={"schema": "tickit"})
    create = sqlglot.parse_one(text, read="redshift")
    assert table.columns == tuple(column.name for column in create.find_all(exp.ColumnDef))
    assert create.this.this.name == table.name


def test_ddl_columns_skip_comments_constraints_and_nested_parentheses():
    text = """-- the table
CREATE TABLE IF NOT EXISTS {{ params.schema }}.prices (
    id INTEGER NOT NULL, -- the key, (a comment with parentheses)
    amount DECIMAL(8, 2),
    "Label" VARCHAR(20),
    PRIMARY KEY (id)
)
DISTKEY (id)
"""
    assert ddl_columns(text) == ("prices", ("id", "amount", "label"))
    assert ddl_columns("CREATE VIEW v AS SELECT 1") is None


def test_ddl_columns_end_at_the_table_s_closing_parenthesis():
    """What follows the column list (a sort key over several lines, a second statement) holds no column."""
    text = """CREATE TABLE IF NOT EXISTS {{ params.schema }}.sales (
    salesid INTEGER NOT NULL,
    pricepaid DECIMAL(8, 2),
    saletime TIMESTAMP
)
COMPOUND SORTKEY (
    saletime,
    salesid
);
GRANT SELECT ON {{ params.schema }}.sales TO GROUP analysts,
    GROUP auditors;
"""
    assert ddl_columns(text) == ("sales", ("salesid", "pricepaid", "saletime"))


# Rejected specs: the message names the spec file, the table, the field and the fix


def assert_rejected(spec: Path, sql: Path, table: str, field: str, *words: str) -> str:
    with pytest.raises(TableSpecError) as error:
        load_spec(spec, sql)
    message = str(error.value)
    assert str(spec) in message and f"table '{table}'" in message and f"field '{field}'" in message, message
    for word in words:
        assert word in message, message
    assert "Fix:" in message
    return message


@pytest.mark.parametrize("field", REQUIRED_FIELDS[1:])
def test_a_missing_field_is_rejected(spec_copy, field):
    spec, document, sql = spec_copy
    entry(document, "venue").pop(field)
    assert_rejected(write(spec, document), sql, "venue", field, "missing", f"give '{field}' a value")


def test_an_unknown_field_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    entry(document, "sales")["event_column"] = "saletime"
    message = assert_rejected(
        write(spec, document), sql, "sales", "event_column", "unknown field", "event_time"
    )
    assert "field 'event_column': unknown field. Fix:" in message, "no other field is unknown"


def test_every_unknown_field_of_an_entry_is_named_at_once(spec_copy):
    """Two typos are fixed in one go, not found one run at a time."""
    spec, document, sql = spec_copy
    entry(document, "sales").update(event_column="saletime", keys="salesid")
    message = assert_rejected(write(spec, document), sql, "sales", "event_column", "unknown field")
    assert "(also unknown: 'keys')" in message, message


@pytest.mark.parametrize("field", ["key", "event_time"])
def test_a_column_the_ddl_lacks_is_rejected_naming_the_columns(spec_copy, field):
    spec, document, sql = spec_copy
    entry(document, "sales")[field] = "sale_id"
    assert_rejected(
        write(spec, document),
        sql,
        "sales",
        field,
        "'sale_id' is not a column of redshift/ddl/sales.sql",
        "salesid",
    )


def test_an_event_time_that_is_no_name_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    entry(document, "sales")["event_time"] = None
    assert_rejected(write(spec, document), sql, "sales", "event_time", "None", "remove the field")


def test_a_missing_ddl_file_is_rejected_naming_the_file_to_create(spec_copy):
    spec, document, sql = spec_copy
    entry(document, "venue")["ddl"] = "redshift/ddl/venues.sql"
    assert_rejected(
        write(spec, document), sql, "venue", "ddl", "no file sql/redshift/ddl/venues.sql", "create"
    )


def test_a_ddl_file_of_another_table_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    entry(document, "venue")["ddl"] = "redshift/ddl/users.sql"
    assert_rejected(write(spec, document), sql, "venue", "ddl", "creates table 'users'", ".venue (...)")


def test_a_ddl_file_without_create_table_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    entry(document, "venue")["ddl"] = "redshift/staging/drop.sql"
    assert_rejected(write(spec, document), sql, "venue", "ddl", "no CREATE TABLE")


def test_a_ddl_file_that_declares_no_column_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    (sql / "redshift/ddl/venue.sql").write_text(
        "CREATE TABLE IF NOT EXISTS {{ params.schema }}.venue (\n);\n"
    )
    assert_rejected(write(spec, document), sql, "venue", "ddl", "declares no columns", "one per line")


@pytest.mark.parametrize(
    "ddl", ["/sql/redshift/ddl/venue.sql", "../sql/redshift/ddl/venue.sql", "redshift/ddl/venue"]
)
def test_a_ddl_path_outside_sql_is_rejected(spec_copy, ddl):
    spec, document, sql = spec_copy
    entry(document, "venue")["ddl"] = ddl
    assert_rejected(write(spec, document), sql, "venue", "ddl", repr(ddl), "redshift/ddl/venue.sql")


@pytest.mark.parametrize("name", ["Venue", "tickit.venue", "venue-2", "9venue"])
def test_a_name_redshift_folds_or_refuses_is_rejected(spec_copy, name):
    spec, document, sql = spec_copy
    entry(document, "venue")["name"] = name
    assert_rejected(write(spec, document), sql, name, "name", repr(name), "lower-case")


def test_a_name_at_the_length_limit_passes_and_one_past_it_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    for length, passes in [(MAX_IDENTIFIER_BYTES, True), (MAX_IDENTIFIER_BYTES + 1, False)]:
        name = "v" * length
        (sql / "redshift" / "ddl" / "long.sql").write_text(
            f"CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{name} (\n    id INTEGER\n)\n"
        )
        document["tables"].append({"name": name, "key": "id", "ddl": "redshift/ddl/long.sql"})
        write(spec, document)
        if passes:
            assert load_spec(spec, sql).tables[-1].name == name
        else:
            assert_rejected(spec, sql, name, "name", f"at most {MAX_IDENTIFIER_BYTES} bytes")
        document["tables"].pop()


def test_a_table_defined_twice_is_rejected(spec_copy):
    spec, document, sql = spec_copy
    document["tables"].append(dict(entry(document, "sales")))
    assert_rejected(write(spec, document), sql, "sales", "name", "twice")


def test_of_several_tables_defined_twice_the_first_by_name_is_named(spec_copy):
    spec, document, sql = spec_copy
    document["tables"] += [dict(entry(document, "sales")), dict(entry(document, "event"))]
    assert_rejected(write(spec, document), sql, "event", "name", "twice")


@pytest.mark.parametrize("schema", [None, "Tickit", ["tickit"]])
def test_a_missing_or_bad_schema_is_rejected(spec_copy, schema):
    spec, document, sql = spec_copy
    document["schema"] = schema
    with pytest.raises(TableSpecError, match=r"tables.yaml: 'schema' is .*Fix: .*schema: tickit"):
        load_spec(write(spec, document), sql)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("schema: tickit\ntables: [users]\n", "table '#1', field '-': entry is str"),
        ("schema: tickit\n", "no 'tables' list"),
        ("schema: tickit\ntables:\n  - name: [users\n", "not valid YAML"),
    ],
)
def test_a_spec_of_the_wrong_shape_is_rejected_with_the_file_named(tmp_path, text, problem):
    spec = tmp_path / "tables.yaml"
    spec.write_text(text)
    with pytest.raises(TableSpecError) as error:
        load_spec(spec, repository.SQL)
    assert str(spec) in str(error.value) and problem in str(error.value) and "Fix:" in str(error.value)


def test_a_missing_spec_file_is_a_spec_error_naming_it(tmp_path):
    with pytest.raises(TableSpecError, match=r"tables.yaml: cannot be read .*Fix: restore the file"):
        load_spec(tmp_path / "tables.yaml", repository.SQL)


def test_a_new_table_is_loaded_in_spec_order_with_its_ddl_columns(spec_copy):
    spec, document, sql = spec_copy
    (sql / "redshift" / "ddl" / f"{NEW}.sql").write_text(
        f"CREATE TABLE IF NOT EXISTS {{{{ params.schema }}}}.{NEW} (\n    reviewid INTEGER NOT NULL,\n"
        "    venueid SMALLINT,\n    stars SMALLINT,\n    reviewtime TIMESTAMP\n)\n-- reviews arrive daily\n"
    )
    document["tables"].append(
        {
            "name": NEW,
            "key": "reviewid",
            "ddl": f"redshift/ddl/{NEW}.sql",
            "event_time": "reviewtime",
        }
    )
    loaded = load_spec(write(spec, document), sql)
    assert loaded.tables[-1] == RedshiftTable(
        name=NEW,
        key="reviewid",
        ddl=f"redshift/ddl/{NEW}.sql",
        columns=("reviewid", "venueid", "stars", "reviewtime"),
        schema="tickit",
        event_time="reviewtime",
    )
    assert loaded.incremental[-1].name == NEW
