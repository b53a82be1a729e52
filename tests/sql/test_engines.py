"""tests.sql.engines: SQL with comments anywhere (also after the last statement) runs as written."""

from __future__ import annotations

import re

import pytest

from tests.sql.engines import transpile

# A .sql file may end with a comment after its last statement, or hold comments between statements.
COMMENTED_SQL = {
    "after the last statement": "SELECT 1 AS answer;\n-- why the answer is one\n",
    "after the last statement, no newline": "SELECT 1 AS answer;\n-- why the answer is one",
    "before the first statement": "-- the answer\n\nSELECT 1 AS answer",
    "between statements": "SELECT 2 AS answer;\n-- now the real one\nSELECT 1 AS answer;\n-- done\n",
    "inside the statement": "SELECT\n    1 AS answer -- the only column\n;",
    "block comment at the end": "SELECT 1 AS answer;\n/* nothing follows */\n",
}


@pytest.mark.parametrize("sql", COMMENTED_SQL.values(), ids=COMMENTED_SQL.keys())
def test_commented_sql_runs_on_every_engine(engine, sql):
    assert engine.run(sql) == [(1,)]


@pytest.mark.parametrize("sql", COMMENTED_SQL.values(), ids=COMMENTED_SQL.keys())
def test_comments_are_kept_inside_statements_never_sent_alone(sql):
    statements = transpile(sql, "postgres")
    assert [re.sub(r"/\*.*?\*/", "", s).strip() for s in statements][-1] == "SELECT 1 AS answer", statements
    assert all(re.sub(r"/\*.*?\*/", "", s).strip() for s in statements), statements


def test_a_batch_ending_with_a_comment_runs_in_one_transaction(engine):
    engine.run_batch(["CREATE TABLE t (x INTEGER);\n-- the table\n", "INSERT INTO t VALUES (1);\n-- one row"])
    assert engine.run("SELECT x FROM t;\n-- read back") == [(1,)]
