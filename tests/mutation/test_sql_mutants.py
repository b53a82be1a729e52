"""mutation.sql_mutants: realistic SQL mutants as edits of the template text, Jinja left intact."""

from __future__ import annotations

import jinja2
import pytest

import repository
from mutation.sql_mutants import mask, mutants
from sample_data.tickit import COLUMNS

QUERY = """SELECT s.salesid FROM {{ params.schema }}.sales AS s
JOIN {{ params.schema }}.event AS e ON e.eventid = s.eventid
WHERE s.saletime >= CAST('{{ ds }}' AS TIMESTAMP) AND s.qtysold > 1
UNION ALL
SELECT 0 FROM {{ params.schema }}.sales
"""
TABLES = {"sales": ("salesid", "listid", "eventid", "qtysold", "saletime"), "event": ("eventid", "venueid")}


def test_the_mask_keeps_every_offset():
    masked = mask(QUERY)
    assert len(masked) == len(QUERY) and "{" not in masked
    assert masked.index("JOIN") == QUERY.index("JOIN") and masked.index(">=") == QUERY.index(">=")


def test_each_kind_of_mutant_of_a_query_in_file_order():
    found = [
        (m.line, m.kind, m.original, m.replacement) for m in mutants("sql/redshift/q.sql", QUERY, TABLES)
    ]

    assert found == [
        (1, "union", QUERY[: QUERY.index("SELECT 0")], ""),  # the first branch and its UNION ALL
        (2, "join key", "eventid", "venueid"),
        (2, "comparison", "=", "<>"),
        (2, "join key", "eventid", "salesid"),
        (3, "dropped predicate", "s.saletime >= CAST('{{ ds }}' AS TIMESTAMP) AND ", ""),
        (3, "comparison", ">=", "<="),
        (3, "comparison", ">=", ">"),
        (3, "dropped predicate", "AND s.qtysold > 1", ""),
        (3, "comparison", ">", "<"),
        (3, "comparison", ">", ">="),
        (4, "union", "UNION ALL\nSELECT 0 FROM {{ params.schema }}.sales", ""),
        (4, "union", "UNION ALL", "UNION"),
    ]


def test_a_mutant_is_the_file_with_one_edit():
    (boundary,) = [m for m in mutants("sql/redshift/q.sql", QUERY, TABLES) if m.replacement == ">"]
    assert boundary.apply(QUERY) == QUERY.replace("s.saletime >=", "s.saletime >")
    assert boundary.describe() == "sql/redshift/q.sql:3: comparison: `>=` -> `>`"


def test_a_table_property_is_no_comparison():
    ctas = "CREATE TABLE g WITH (format = 'PARQUET') AS SELECT catid FROM refined.sales WHERE qtysold = 2"
    found = [(m.kind, m.original, m.replacement) for m in mutants("sql/athena/gold/g.sql", ctas, {})]
    assert found == [
        ("dropped predicate", "WHERE qtysold = 2", ""),
        ("comparison", "=", "<>"),
    ]


def test_the_interval_boundary_of_the_merge_check_is_a_mutant_and_every_mutant_renders():
    """The Jinja-wrapped branch of sql/redshift/checks/merged.sql is reached, and no edit cuts a Jinja tag."""
    path = "sql/redshift/checks/merged.sql"
    text = (repository.ROOT / path).read_text()
    found = mutants(path, text, COLUMNS)

    assert ("comparison", ">=", ">") in {(m.kind, m.original, m.replacement) for m in found}
    assert {m.kind for m in found} == {"comparison", "dropped predicate", "union"}
    environment = jinja2.Environment()
    for mutant in found:
        environment.parse(mutant.apply(text))  # raises on a cut {% if %} ... {% endif %}


@pytest.mark.parametrize("bad", ["SELECT FROM WHERE (", ""])
def test_a_file_sqlglot_cannot_read_has_no_mutants(bad):
    assert mutants("sql/redshift/bad.sql", bad, {}) == []
