"""The project's Redshift SQL on real engines: DuckDB (in process) and a private PostgreSQL 15 cluster.

Statements are transpiled from the Redshift dialect with sqlglot; the only rewrites are generic ones on the
syntax tree (table properties the target cannot express, such as DISTKEY/SORTKEY/DISTSTYLE, are dropped),
never hand-kept copies of the SQL.
"""

from __future__ import annotations

import functools
import glob
import gzip
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import sqlglot
from sqlglot import exp

from sql_statements import parse_statements

POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# Redshift storage hints: where rows live and in which order, never which rows a query returns. sqlglot's
# PostgreSQL generator inherits them from the Redshift one it is the base of (and then fails to write them).
STORAGE_PROPERTIES = (exp.DistKeyProperty, exp.SortKeyProperty, exp.DistStyleProperty)


def transpile(sql: str, dialect: str) -> list[str]:
    """Redshift `sql` (one or more statements) as statements of `dialect`."""
    return list(_transpiled(sql, dialect))


@functools.lru_cache(maxsize=None)
def _transpiled(sql: str, dialect: str) -> tuple[str, ...]:
    """Each statement is transpiled once per session: the pipelines run the same SQL many times."""
    generator = sqlglot.Dialect.get_or_raise(dialect).generator_class
    statements = []
    for tree in parse_statements(sql, "redshift"):
        for prop in list(tree.find_all(exp.Property)):
            unsupported = generator.PROPERTIES_LOCATION.get(type(prop)) == exp.Properties.Location.UNSUPPORTED
            if unsupported or isinstance(prop, STORAGE_PROPERTIES):
                prop.pop()
        if dialect == "duckdb":
            tree = _like_as_empty_copy(tree)
        statements.append(tree.sql(dialect))
    return tuple(statements)


def _like_as_empty_copy(tree: exp.Expression) -> exp.Expression:
    """CREATE TABLE t (LIKE s) -> CREATE TABLE t AS SELECT * FROM s LIMIT 0 (DuckDB has no LIKE clause).

    sqlglot 30 writes this rewrite for DuckDB in parentheses, which DuckDB rejects, so it is done here on the
    tree. The new table has the same column names and types, which is all the merge relies on.
    """
    schema = tree.this if isinstance(tree, exp.Create) else None
    if not isinstance(schema, exp.Schema) or [type(e) for e in schema.expressions] != [exp.LikeProperty]:
        return tree
    source = schema.expressions[0].this
    select = exp.select("*").from_(source.copy()).limit(0)
    return exp.Create(
        this=schema.this.copy(), kind="TABLE", expression=select, exists=tree.args.get("exists")
    )


class Engine:
    """One database on one engine, run with Redshift SQL."""

    name: str
    dialect: str

    def run(self, sql: str) -> list[tuple]:
        """Runs every statement of `sql`; returns the rows of the last one (or [])."""
        raise NotImplementedError

    def run_batch(self, statements: list[str]) -> None:
        """Runs statements in one transaction, as the Data API runs a BatchExecuteStatement."""
        raise NotImplementedError

    def load(self, table: str, path: Path) -> None:
        """Loads a generated pipe-delimited gzip file into `table` (what COPY does from S3)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class DuckDBEngine(Engine):
    name = dialect = "duckdb"

    def __init__(self):
        import duckdb

        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET TimeZone = 'UTC'")

    def _execute(self, statements: list[str]) -> list[tuple]:
        rows: list[tuple] = []
        for statement in statements:
            cursor = self.connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return rows

    def run(self, sql: str) -> list[tuple]:
        return self._execute(transpile(sql, self.dialect))

    def run_batch(self, statements: list[str]) -> None:
        self.connection.execute("BEGIN TRANSACTION")
        try:
            self._execute([s for sql in statements for s in transpile(sql, self.dialect)])
        except Exception:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def load(self, table: str, path: Path) -> None:
        # read_csv, not COPY: COPY would add the ds=... folder as a hive partition column. Text -> column
        # types by the INSERT, as Redshift's COPY converts text to the table's types.
        self.connection.execute(
            f"INSERT INTO {table} SELECT * FROM read_csv(?, delim='|', header=false, nullstr='', "
            "hive_partitioning=false, all_varchar=true)",
            [str(path)],
        )

    def close(self) -> None:
        self.connection.close()


class PostgresEngine(Engine):
    name, dialect = "postgres", "postgres"

    def __init__(self, dsn: dict):
        import psycopg2

        self.connection = psycopg2.connect(**dsn)

    def run(self, sql: str) -> list[tuple]:
        rows: list[tuple] = []
        with self.connection, self.connection.cursor() as cursor:
            for statement in transpile(sql, self.dialect):
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
        return rows

    def run_batch(self, statements: list[str]) -> None:
        with self.connection, self.connection.cursor() as cursor:  # one transaction, rolled back on error
            for statement in (s for sql in statements for s in transpile(sql, self.dialect)):
                cursor.execute(statement)

    def load(self, table: str, path: Path) -> None:
        with self.connection, self.connection.cursor() as cursor, gzip.open(path, "rt") as handle:
            cursor.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv, DELIMITER '|', NULL '')", handle)

    def close(self) -> None:
        self.connection.close()


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries under /usr/lib/postgresql/*/bin, or None."""
    found = sorted(
        (Path(d) for d in glob.glob(POSTGRES_BIN_GLOB) if (Path(d) / "initdb").exists()),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster: initdb into a temp dir, listening only on a unix socket there."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        # initdb refuses to run as root: run the server as the postgres user the package created.
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="tickit-pg-"))
        if self.run_as:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"

    def _pg(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self.run_as, str(self.bin_dir / tool), *args], capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> "PostgresCluster":
        self._pg("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.root} -c listen_addresses='' -p {self.port} -c fsync=off -c TimeZone=UTC"
        self._pg(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start"
        )
        return self

    def stop(self) -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> dict:
        return {"host": str(self.root), "port": self.port, "user": self.user, "dbname": dbname}

    def create_database(self, name: str) -> dict:
        import psycopg2

        admin = psycopg2.connect(**self.dsn())
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        admin.close()
        return self.dsn(name)


def _free_port() -> int:
    """A port number nobody listens on (it also names the unix socket file)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unload_parts(sql: str) -> tuple[str, str]:
    """(the inner query, the rest after it) of a rendered UNLOAD statement; the query is unquoted."""
    match = re.search(r"UNLOAD\s*\(\s*'((?:[^']|'')*)'\s*\)(.*)", sql, re.DOTALL | re.IGNORECASE)
    if not match:
        raise ValueError(f"not an UNLOAD ('<query>') TO ... statement:\n{sql}")
    return match.group(1).replace("''", "'"), match.group(2)
