"""Realistic mutants of the project's SQL (Jinja templates), found on sqlglot's tokens and syntax tree.

The template's Jinja is masked with text of the same length (`{{ ... }}` as one identifier, `{% ... %}` and
`{# ... #}` as blanks), so the offsets sqlglot reports are offsets in the file: each mutant is a text edit of
the file itself, and everything else (the Jinja, comments, layout) stays as written. Kinds:

- comparison: an operator of a comparison one step off or turned around (>= to > or <=, = to <>);
- join key: one side of an equi-join condition on another key column of the same table;
- dropped predicate: a conjunct of WHERE / ON / HAVING gone, or a WHERE with a single condition gone;
- union: UNION ALL as UNION (rows deduplicated), or one branch of a UNION ALL gone.

A mutant that no longer parses is dropped (a syntax error is not a bug a test of meaning needs to catch), and
so is one whose edited text would cut a Jinja statement.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

# sqlglot warns when it reads a statement it has no grammar for (UNLOAD, Athena's CREATE DATABASE) as a
# Command: such a statement simply has no mutants.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
COMPARISONS = {
    TokenType.EQ: ["<>"],
    TokenType.NEQ: ["="],
    TokenType.GT: [">=", "<"],
    TokenType.GTE: [">", "<="],
    TokenType.LT: ["<=", ">"],
    TokenType.LTE: ["<", ">="],
}
COMPARISON_NODES = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
# Where a condition ends, at its own parenthesis depth.
CLAUSE_END = {
    TokenType.GROUP_BY,
    TokenType.ORDER_BY,
    TokenType.HAVING,
    TokenType.UNION,
    TokenType.EXCEPT,
    TokenType.INTERSECT,
    TokenType.LIMIT,
    TokenType.SEMICOLON,
    TokenType.WHERE,
    TokenType.JOIN,
    TokenType.LEFT,
    TokenType.RIGHT,
    TokenType.INNER,
    TokenType.FULL,
    TokenType.CROSS,
    TokenType.WINDOW,
    TokenType.QUALIFY,
}


@dataclass(frozen=True)
class SqlMutant:
    path: str  # relative to the repository root
    kind: str
    line: int
    start: int  # offsets in the file's text: text[start:end] becomes `replacement`
    end: int
    replacement: str
    original: str

    @property
    def id(self) -> str:
        key = f"{self.path}:{self.start}:{self.end}:{self.replacement}"
        return hashlib.sha1(key.encode()).hexdigest()[:10]

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]

    def describe(self) -> str:
        old = " ".join(self.original.split())
        new = " ".join(self.replacement.split()) or "(removed)"
        return f"{self.path}:{self.line}: {self.kind}: `{_short(old)}` -> `{_short(new)}`"


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def mask(text: str, blank: frozenset[str] = frozenset()) -> str:
    """`text` with its Jinja replaced by text of the same length that sqlglot reads as SQL: an expression as
    an identifier, unless it is in `blank` (one that renders no SQL, such as `{{ require_data_interval() }}`).
    """

    def same_length(match: re.Match) -> str:
        tag = match.group(0)
        if tag.startswith("{{") and tag not in blank:
            return re.sub(r"[^\n]", "j", tag)
        return re.sub(r"[^\n]", " ", tag)

    return JINJA.sub(same_length, text)


def _blank_expressions(text: str, dialect: str) -> frozenset[str]:
    """The Jinja expressions to mask as blanks so that the file parses: none, or the first one that does."""
    if _parses(mask(text), dialect):
        return frozenset()
    for expression in dict.fromkeys(m.group(0) for m in JINJA.finditer(text) if m.group(0).startswith("{{")):
        if _parses(mask(text, frozenset([expression])), dialect):
            return frozenset([expression])
    return frozenset()


def dialect_of(path: str) -> str:
    return "trino" if path.startswith("sql/athena/") else "redshift"


def mutants(path: str, text: str, tables: dict[str, tuple[str, ...]]) -> list[SqlMutant]:
    """Every realistic mutant of one SQL file. `tables`: column names by table, for join keys."""
    dialect = dialect_of(path)
    blank = _blank_expressions(text, dialect)
    masked = mask(text, blank)
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(masked)
        trees = [tree for tree in sqlglot.parse(masked, read=dialect) if tree is not None]
    except sqlglot.errors.SqlglotError:
        return []  # a file sqlglot cannot read (test_sql_parses names it): no mutants to offer
    found: list[SqlMutant] = []

    def add(kind: str, start: int, end: int, replacement: str) -> None:
        original = text[start:end]
        if original == replacement or "{%" in original or "%}" in original:
            return
        mutant = SqlMutant(path, kind, text.count("\n", 0, start) + 1, start, end, replacement, original)
        if _parses(mask(mutant.apply(text), blank), dialect):
            found.append(mutant)

    depth = _depths(tokens)
    for token in _comparison_tokens(tokens, trees):
        for replacement in COMPARISONS[token.token_type]:
            add("comparison", token.start, token.end + 1, replacement)
    for tree in trees:
        for start, end, replacement in _join_keys(tree, tables):
            add("join key", start, end, replacement)
    for index, token in enumerate(tokens):
        if token.token_type in (TokenType.WHERE, TokenType.HAVING, TokenType.ON):
            for start, end in _dropped_predicates(tokens, depth, index, masked):
                add("dropped predicate", start, end, "")
        if token.token_type == TokenType.UNION and index + 1 < len(tokens):
            following = tokens[index + 1]
            if following.token_type == TokenType.ALL:
                add("union", token.start, following.end + 1, "UNION")
    for start, end in _union_branches(tokens, depth):
        add("union", start, end, "")
    return sorted(set(found), key=lambda m: (m.start, m.kind, m.replacement))


def _parses(sql: str, dialect: str) -> bool:
    try:
        return all(tree is not None for tree in sqlglot.parse(sql, read=dialect)) and bool(sql.strip())
    except sqlglot.errors.SqlglotError:
        return False


def _depths(tokens) -> list[int]:
    """The parenthesis depth of each token (a parenthesis itself: the depth outside it)."""
    depths, depth = [], 0
    for token in tokens:
        if token.token_type == TokenType.R_PAREN:
            depth -= 1
        depths.append(depth)
        if token.token_type == TokenType.L_PAREN:
            depth += 1
    return depths


def _span(node: exp.Expression) -> tuple[int, int] | None:
    positions = [(n.meta["start"], n.meta["end"]) for n in node.walk() if "start" in n.meta]
    if not positions:
        return None
    return min(p[0] for p in positions), max(p[1] for p in positions)


def _comparison_tokens(tokens, trees):
    """The operator tokens of comparisons (not the `=` of a table property such as format = 'PARQUET')."""
    gaps = []
    for tree in trees:
        for node in tree.find_all(*COMPARISON_NODES):
            left, right = _span(node.this), _span(node.expression)
            if left and right:
                gaps.append((left[1], right[0]))
    return [
        token
        for token in tokens
        if token.token_type in COMPARISONS and any(low < token.start < high for low, high in gaps)
    ]


def _join_keys(tree: exp.Expression, tables: dict[str, tuple[str, ...]]):
    """(start, end, other key column) for each column side of an equality in a JOIN's ON condition."""
    aliases = {}
    for table in tree.find_all(exp.Table):
        aliases[table.alias_or_name] = table.name
    for join in tree.find_all(exp.Join):
        condition = join.args.get("on")
        if condition is None:
            continue
        for equality in condition.find_all(exp.EQ):
            for side in (equality.this, equality.expression):
                if not isinstance(side, exp.Column) or "start" not in side.this.meta:
                    continue
                columns = tables.get(aliases.get(side.table, ""), ())
                keys = [c for c in columns if c.endswith("id") and c != side.name]
                if keys:
                    yield side.this.meta["start"], side.this.meta["end"] + 1, keys[0]


def _dropped_predicates(tokens, depth, index, masked):
    """Spans to remove from the condition that follows tokens[index] (WHERE, HAVING or ON)."""
    level, end = depth[index], index + 1
    conjunct_starts, between = [index + 1], False
    while end < len(tokens):
        token = tokens[end]
        if depth[end] < level or (depth[end] == level and token.token_type in CLAUSE_END):
            break
        if depth[end] == level and token.token_type == TokenType.BETWEEN:
            between = True
        elif depth[end] == level and token.token_type == TokenType.AND:
            if between:
                between = False
            else:
                conjunct_starts.append(end)
        end += 1
    last = tokens[end - 1]
    if end - 1 <= index:
        return []
    if len(conjunct_starts) == 1:
        # A single condition: a WHERE / HAVING goes as a whole (a join without ON is no longer a join).
        return [] if tokens[index].token_type == TokenType.ON else [(tokens[index].start, last.end + 1)]
    spans = []
    boundaries = conjunct_starts + [end]
    for position in range(len(conjunct_starts)):
        first, stop = boundaries[position], boundaries[position + 1]
        if position == 0:  # the first conjunct and the AND after it
            spans.append((tokens[first].start, tokens[stop + 1].start))
        else:  # the AND before it and the conjunct
            spans.append((tokens[first].start, tokens[stop - 1].end + 1))
    return spans


def _union_branches(tokens, depth):
    """Spans that remove one branch of a UNION ALL (with the UNION ALL that joins it to the rest)."""
    groups: dict[tuple[int, int], list[int]] = {}
    opener = [-1]
    group_of = []
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.R_PAREN:
            opener.pop()
        group_of.append(opener[-1])
        if token.token_type == TokenType.L_PAREN:
            opener.append(index)
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.token_type == TokenType.UNION and following and following.token_type == TokenType.ALL:
            groups.setdefault((group_of[index], depth[index]), []).append(index)
    spans = []
    for (group, level), unions in groups.items():
        start = group + 1
        stop = start
        while stop < len(tokens) and not (
            depth[stop] < level or (depth[stop] == level and tokens[stop].token_type == TokenType.SEMICOLON)
        ):
            stop += 1
        # Branch k runs from its first token to just before the next UNION (the last: to the group's end).
        firsts = [start] + [u + 2 for u in unions]
        for k, first in enumerate(firsts):
            if k == 0:
                spans.append((tokens[first].start, tokens[unions[0] + 2].start))
            else:
                last = (unions[k] - 1) if k < len(unions) else stop - 1
                spans.append((tokens[unions[k - 1]].start, tokens[last].end + 1))
    return spans


def all_mutants(root: Path, folder: str, tables: dict[str, tuple[str, ...]]) -> list[SqlMutant]:
    found = []
    for path in sorted((root / folder).rglob("*.sql")):
        relative = path.relative_to(root).as_posix()
        found += mutants(relative, path.read_text(), tables)
    return found
