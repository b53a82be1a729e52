"""Parse purity: while DAG files load, anything that reaches outside the process raises.

MWAA parses every DAG file every 30 seconds on the scheduler. A `Variable.get`, a connection lookup, a boto3
client or a socket at import time costs a metadata-DB or network round trip per parse, and fails the whole
file when that service is slow. Templates (`{{ var.value.x }}`, `{{ conn.x }}`) and `params` defer the
lookup to run time, which is what the fixes below say.
"""

from __future__ import annotations

import contextlib
import socket
import traceback
from pathlib import Path
from typing import Callable, Iterator

from compat import airflow as airflow_compat


class ParsePurityError(RuntimeError):
    """Raised when a DAG file does I/O while it is being parsed."""


FIXES = {
    "Variable.get": "use a template ('{{ var.value.NAME }}') or params instead of reading it at parse time",
    "connection lookup": "pass the conn id to the operator (aws_conn_id=...) or use '{{ conn.NAME }}'",
    "boto3 client/resource/session": "create AWS clients inside a task (operators and hooks do it for you)",
    "network socket": "do network calls inside a task, never at module level",
}


def _culprit(roots: tuple[Path, ...]) -> str:
    """file:line of the outermost frame inside the checked folders (the DAG file's own line)."""
    for frame in traceback.extract_stack()[:-2]:
        path = Path(frame.filename)
        if any(root == path or root in path.parents for root in roots):
            return f"{frame.filename}:{frame.lineno}"
    return "<outside the DAG folder>"


def _raiser(what: str, roots: tuple[Path, ...]) -> Callable:
    def forbidden(*_args, **_kwargs):
        raise ParsePurityError(
            f"parse-purity: {what} at {_culprit(roots)} while the DAG file was being parsed. "
            f"Fix: {FIXES[what]}."
        )

    return forbidden


def _targets() -> list[tuple[object, str, str]]:
    """(owner, attribute, what) for every entry point that reaches a service."""
    import boto3
    import boto3.session
    from airflow.models.connection import Connection as ModelConnection
    from airflow.models.variable import Variable as ModelVariable
    from airflow.sdk.definitions.connection import Connection as SdkConnection
    from airflow.sdk.definitions.variable import Variable as SdkVariable

    return [
        (SdkVariable, "get", "Variable.get"),
        (ModelVariable, "get", "Variable.get"),
        (airflow_compat.base_hook(), "get_connection", "connection lookup"),
        (SdkConnection, "get", "connection lookup"),
        (ModelConnection, "get_connection_from_secrets", "connection lookup"),
        (boto3, "client", "boto3 client/resource/session"),
        (boto3, "resource", "boto3 client/resource/session"),
        (boto3.session.Session, "__init__", "boto3 client/resource/session"),
        (socket.socket, "connect", "network socket"),
        (socket, "create_connection", "network socket"),
        (socket, "getaddrinfo", "network socket"),
    ]


@contextlib.contextmanager
def parse_guards(*roots: Path) -> Iterator[None]:
    """Make every service entry point raise ParsePurityError naming the file:line under `roots`."""
    resolved = tuple(Path(r).resolve() for r in roots)
    saved = []
    for owner, attr, what in _targets():
        own = owner.__dict__.get(attr)
        saved.append((owner, attr, own))
        replacement = _raiser(what, resolved)
        if isinstance(own, (classmethod, staticmethod)):
            replacement = classmethod(replacement)
        setattr(owner, attr, replacement)
    try:
        yield
    finally:
        for owner, attr, original in reversed(saved):
            if original is None:
                delattr(owner, attr)  # it was inherited: uncover the parent's again
            else:
                setattr(owner, attr, original)
