"""SQL text as the statements a database runs: comments anywhere in a .sql file are no statements.

sqlglot keeps a comment after the last `;` as a statement of its own (an `exp.Semicolon` holding only the
comment), and `parse_one` then returns an `exp.Block` of both; an engine given that comment alone runs
nothing (DuckDB returns no cursor, psycopg2 refuses an empty query). Parse SQL files through here.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel


def parse_statements(
    sql: str, dialect: str, error_level: ErrorLevel = ErrorLevel.IMMEDIATE
) -> list[exp.Expression]:
    """Every statement of `sql` in order, without the comment-only pieces sqlglot returns."""
    return [
        tree
        for tree in sqlglot.parse(sql, read=dialect, error_level=error_level)
        if tree is not None and not isinstance(tree, exp.Semicolon)
    ]


def parse_statement(sql: str, dialect: str) -> exp.Expression:
    """The one statement of `sql`; ValueError when it holds none or several."""
    statements = parse_statements(sql, dialect)
    if len(statements) != 1:
        raise ValueError(f"expected one {dialect} statement, found {len(statements)}:\n{sql}")
    return statements[0]
