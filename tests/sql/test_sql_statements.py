"""sql_statements: a .sql file's statements, whatever comments it holds, in every dialect the DAGs send."""

from __future__ import annotations

import pytest
from sqlglot import exp

from local_aws.moto_gaps import output_columns
from sql_statements import parse_statement, parse_statements
from tests.sql.test_engines import COMMENTED_SQL
from tests.sql.test_sql_parses import parse_one_statement


@pytest.mark.parametrize("dialect", ["redshift", "trino", "hive", "duckdb"])
@pytest.mark.parametrize("sql", COMMENTED_SQL.values(), ids=COMMENTED_SQL.keys())
def test_comments_are_no_statements(sql, dialect):
    statements = parse_statements(sql, dialect)
    assert statements and all(isinstance(s, exp.Select) for s in statements), statements
    assert statements[-1].sql(comments=False) == "SELECT 1 AS answer"


def test_statements_keep_their_order():
    sql = "-- load\nDROP TABLE t;\nCREATE TABLE t (x INT);\n-- done\n"
    assert [type(s) for s in parse_statements(sql, "redshift")] == [exp.Drop, exp.Create]


def test_one_statement_ending_with_a_comment_is_one_statement():
    assert isinstance(parse_statement("SELECT 1 AS answer;\n-- the end\n", "redshift"), exp.Select)


@pytest.mark.parametrize("sql, found", [("-- only a comment\n", 0), ("SELECT 1; SELECT 2;\n-- two\n", 2)])
def test_parse_statement_refuses_none_or_several(sql, found):
    with pytest.raises(ValueError, match=f"expected one redshift statement, found {found}"):
        parse_statement(sql, "redshift")


def test_the_parse_tests_accept_a_file_ending_with_a_comment():
    tree = parse_one_statement("SELECT check_name, failures FROM checks;\n-- none: all passed\n", "check")
    assert isinstance(tree, exp.Select)


def test_a_local_check_query_ending_with_a_comment_returns_its_columns():
    sql = "SELECT check_name, failures FROM checks WHERE failures > 0;\n-- one row per failed check\n"
    assert output_columns(sql) == ["check_name", "failures"]
