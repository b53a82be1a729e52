"""What ./run_local.sh prints: one line per task in run order, then the run's summary; the log to a file.

Airflow's own output of a run (hundreds of lines, task logs, the in-process supervisor) goes to a file under
build/local-runs/, whose path is printed. Each task line gives its state, its duration and the AWS calls it
made: a Redshift Data or Athena call is matched to the task whose rendered SQL it is, and named by the .sql
files that SQL comes from. Colour only when the output is a terminal.
"""

from __future__ import annotations

import itertools
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import repository

LOGS = repository.BUILD / "local-runs"
COLOURS = {"success": "32", "failed": "31", "upstream_failed": "31"}  # ANSI: green, red; others yellow
SHOWN_FILES = 3
ERROR_WIDTH = 200  # a failed task's error line; the whole error is in the log file


def log_file(name: str) -> Path:
    """A new, empty log file of this run: <name>-<UTC time>.log, or -2, -3... when another run of the same
    name started in the same second (each run's log is its own)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    for number in itertools.count(1):
        path = LOGS / (f"{stem}.log" if number == 1 else f"{stem}-{number}.log")
        try:
            path.open("x").close()
        except FileExistsError:
            continue
        return path


def _stream_to_terminal(stream, saved_fd: int):
    """A stream to where `stream` wrote before the redirect: a copy of the saved descriptor when `stream`
    writes to its file descriptor, else `stream` itself (e.g. pytest's capsys, not a descriptor)."""
    try:
        if stream.fileno() in (1, 2):
            return os.fdopen(os.dup(saved_fd), "w", buffering=1), True
    except (AttributeError, OSError, ValueError):
        pass
    return stream, False


@contextmanager
def output_to(path: Path):
    """Send everything written to file descriptors 1 and 2 (Airflow, moto, subprocesses) to `path`; yield
    (out, err) streams to the terminal for the lines the user reads."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    (out, own_out), (err, own_err) = _stream_to_terminal(sys.stdout, saved[0]), _stream_to_terminal(
        sys.stderr, saved[1]
    )
    with open(path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield out, err
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            for stream, own in ((out, own_out), (err, own_err)):
                if own:
                    stream.close()
                else:
                    stream.flush()


def coloured(state: str, width: int, colour: bool) -> str:
    text = f"{state:<{width}}"
    return f"\033[{COLOURS.get(state, '33')}m{text}\033[0m" if colour else text


def _sql_files(dag, texts: list[str]) -> str:
    from gate.rules import shown_path
    from gate.template_files import file_of

    env = dag.get_template_env()
    names = [shown_path(path) if (path := file_of(env, text)) else "inline SQL" for text in texts]
    more = f" + {len(names) - SHOWN_FILES} more" if len(names) > SHOWN_FILES else ""
    return ", ".join(names[:SHOWN_FILES]) + more


def calls_by_task(dag, run, variables: dict, redshift: list[list[str]], athena: list[str]) -> dict[str, str]:
    """{task_id: the AWS calls it made, naming the SQL files}: each call matched to the task whose rendered
    SQL it is (a task that never rendered, e.g. one refusing the run, made none)."""
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

    from local_aws.expected import render

    remaining_redshift, remaining_athena = list(redshift), list(athena)
    made: dict[str, str] = {}
    for task in dag.tasks:
        try:
            if isinstance(task, RedshiftDataOperator):
                texts = list(task.sql) if isinstance(task.sql, (list, tuple)) else [task.sql]
                call = [render(dag, task, text, run, variables) for text in texts]
                if call in remaining_redshift:
                    remaining_redshift.remove(call)
                    made[task.task_id] = f"Redshift Data: {_sql_files(dag, texts)}"
            elif isinstance(task, AthenaOperator):
                query = render(dag, task, task.query, run, variables)
                if query in remaining_athena:
                    remaining_athena.remove(query)
                    made[task.task_id] = f"Athena: {_sql_files(dag, [task.query])}"
        except Exception:  # noqa: BLE001 - a task that does not render here sent nothing to match
            continue
    return made


def task_lines(result, calls: dict[str, str], colour: bool) -> list[str]:
    """`  <state> <seconds>  <task_id>  <AWS calls>` per task, in run order, columns aligned; under a failed
    task the first line of its error."""
    width = max([len(r.state) for r in result.task_runs] + [7])
    id_width = max([len(r.task_id) for r in result.task_runs] + [1])
    lines = []
    for task_run in result.task_runs:
        seconds = f"{task_run.seconds:5.1f} s" if task_run.seconds is not None else "    - s"
        detail = f"  {calls[task_run.task_id]}" if task_run.task_id in calls else ""
        name = f"{task_run.task_id:<{id_width}}" if detail else task_run.task_id
        lines.append(f"  {coloured(task_run.state, width, colour)} {seconds}  {name}{detail}")
        if task_run.error:
            lines.append(f"      {shortened(task_run.error)}")
    return lines


def run_line(dag_id: str, state: str, seconds: float, tasks: int) -> str:
    """The line that ends a run's task lines: `== <dag_id>: <state> in <seconds> s (<n> task(s))`."""
    return f"== {dag_id}: {state} in {seconds:.1f} s ({tasks} task{'' if tasks == 1 else 's'})"


def shortened(text: str, limit: int = ERROR_WIDTH) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
