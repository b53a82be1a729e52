"""Load a DAG folder into one DagBag, once, under the parse guards, recording what the policy needs."""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import importlib
import json
import os
import sys
import tempfile
import tokenize
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from compat import airflow as airflow_compat
from gate.purity import parse_guards
import repository

PLUGINS_FOLDER = repository.PLUGINS
READS_FILE = repository.BUILD / "test-gate" / "dag-reads.json"
# Where the files a DAG reads at parse time live (SQL, specs, schemas); plugins/ changes affect every DAG.
RECORDED_FOLDERS = tuple(
    f"{folder.relative_to(repository.ROOT)}/" for folder in (repository.DAGS, repository.SQL)
)


@dataclass
class LoadedBag:
    folder: Path
    bag: object  # a DagBag (compat.airflow.dag_bag_class)
    files: list[Path]
    parse_seconds: dict[Path, float]
    shared_import_seconds: float
    dag_kwargs: dict[str, frozenset[str]]
    loaded_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _render_problems: dict[int, tuple[object, list[str]]] = field(default_factory=dict, repr=False)

    @property
    def dags(self) -> dict:
        return self.bag.dags

    def import_errors(self) -> dict[Path, str]:
        return {Path(path): text for path, text in self.bag.import_errors.items()}

    def render_problems(self, dag) -> list[str]:
        """gate.run_contexts.render_problems(dag) with config/variables.json, once per DAG of this bag: the
        rule templates-render and the tests that check it share the verdict (rendering is the slowest check).
        """
        known = self._render_problems.get(id(dag))
        if known is None or known[0] is not dag:
            from gate.run_contexts import render_problems

            known = self._render_problems[id(dag)] = (dag, render_problems(dag))
        return list(known[1])


def dag_files(folder: Path) -> list[Path]:
    """The files Airflow would parse in `folder` (honours .airflowignore and safe mode)."""
    from airflow.utils.file import list_py_file_paths

    return sorted(Path(p) for p in list_py_file_paths(str(folder), safe_mode=True))


def python_source(path: Path) -> str | None:
    """A DAG file's text as Python reads it (a `# -*- coding: ... -*-` line honoured); None when it cannot be
    read as a file (a DAG inside a .zip, or a file removed or re-encoded since it was listed)."""
    try:
        with tokenize.open(path) as source:
            return source.read()
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def _imported_modules(files: list[Path]) -> list[str]:
    modules: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(python_source(path) or "", str(path))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return sorted(modules)


_TINY_DAG = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(dag_id="warm_up", schedule=None):
    EmptyOperator(task_id="nothing")
"""


def _warm_shared_imports(files: list[Path]) -> float:
    """Import what every DAG file shares, so each file's parse time is its own work.

    That is the modules the files import, and what the DagBag itself imports lazily on its first DAG
    (serialization, JSON schema...), paid here by parsing a tiny DAG in a throwaway folder.
    """
    start = time.perf_counter()
    for module in _imported_modules(files):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the DagBag load reports it against the DAG file
            pass
    with tempfile.TemporaryDirectory(prefix="gate-warm-up-") as folder:
        (Path(folder) / "warm_up_dag.py").write_text(_TINY_DAG)
        airflow_compat.dag_bag(folder)
    return time.perf_counter() - start


class _DagKwargsRecorder:
    """Records which keyword arguments each DAG was built with (e.g. whether `schedule` was explicit)."""

    def __init__(self) -> None:
        self.kwargs: dict[str, frozenset[str]] = {}

    def __enter__(self):
        # The SDK's DAG, and on 3.0 what Airflow 2 paths (`from airflow import DAG`) give.
        self._originals = [
            (cls, cls.__dict__["__init__"])
            for cls in airflow_compat.dag_classes()
            if "__init__" in cls.__dict__
        ]
        for cls, original in self._originals:
            cls.__init__ = self._recording(original)
        return self

    def _recording(self, original):
        # wraps: code that reads the constructor's signature meanwhile (e.g. the DAG serializer's defaults,
        # computed when it is first imported) must see the real parameters.
        @functools.wraps(original)
        def init(dag_self, *args, **kwargs):
            dag_id = args[0] if args else kwargs.get("dag_id")
            self.kwargs[dag_id] = frozenset(kwargs) | ({"dag_id"} if args else set())
            original(dag_self, *args, **kwargs)

        return init

    def __exit__(self, *exc):
        for cls, original in self._originals:
            cls.__init__ = original


def load(folder: Path, guarded_roots: tuple[Path, ...] = (PLUGINS_FOLDER,)) -> LoadedBag:
    """Parse every DAG file in `folder` once, with services forbidden and per-file timings kept; under
    `./run_tests.sh --dag ID` only the files of those DAGs (gate.inventory.selected_files)."""
    from gate.inventory import selected_files

    folder = Path(folder).resolve()
    chosen = selected_files(folder)
    files = dag_files(folder) if chosen is None else [path for path in chosen if path.is_file()]
    roots = (folder, *guarded_roots)
    with parse_guards(*roots), _DagKwargsRecorder() as recorder:
        shared = _warm_shared_imports(files)
        bag, seconds = _parse_timed(folder, None if chosen is None else files)
    return LoadedBag(folder, bag, files, seconds, shared, recorder.kwargs)


# The files each DAG file opened while it was parsed (SQL, specs, schemas): which DAGs a change affects.
_READS: dict[Path, set[str]] = {}
_reading: list[Path] = []
_ROOT_PREFIX = str(repository.ROOT) + "/"


def _record_open(event: str, args: tuple) -> None:
    if not _reading or event != "open" or not isinstance(args[0], (str, os.PathLike)):
        return
    path = os.fspath(args[0])
    if isinstance(path, str) and path.startswith(_ROOT_PREFIX):
        _READS[_reading[-1]].add(path[len(_ROOT_PREFIX) :])


@contextlib.contextmanager
def _recording_reads(dag_file: Path):
    if not _reading and not getattr(_record_open, "installed", False):
        sys.addaudithook(_record_open)  # audit hooks cannot be removed: it records only while a file parses
        _record_open.installed = True
    _READS[dag_file] = set()
    _reading.append(dag_file)
    try:
        yield
    finally:
        _reading.pop()


def write_reads(loaded: "LoadedBag", target: Path = READS_FILE) -> None:
    """Merge what the parsed DAG files read into `target` ({DAG file: [repository paths]}), for the pre-push
    hook's choice of DAGs to test (gate.affected). Only the repository's own DAG folder is recorded."""
    if loaded.folder != repository.DAGS.resolve():
        return
    from gate.inventory import selected

    known = json.loads(target.read_text()) if target.is_file() else {}
    if selected() is None:
        known = {}  # a parse of the whole folder replaces the record
    for path in loaded.files:
        reads = _READS.get(path.resolve(), set())
        known[str(path.relative_to(repository.ROOT))] = sorted(
            r for r in reads if r.startswith(RECORDED_FOLDERS) and "__pycache__" not in r
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    partial.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    os.replace(partial, target)


def _parse_timed(folder: Path, files: list[Path] | None = None):
    """A DagBag of `folder` (or of just `files` in it), and the CPU seconds each file's parse took.

    DagBag's own `dagbag_stats` hold wall time, which grows with whatever else the machine runs (a parallel
    test worker, a laptop's IDE); CPU time is the file's own work, so the parse budget judges the file, not
    the machine. Waiting at parse time (network, services) is what the purity guards refuse.
    """
    cpu_seconds: dict[Path, float] = {}

    class CpuTimedDagBag(airflow_compat.dag_bag_class()):
        def process_file(self, filepath, *args, **kwargs):
            # No garbage collection while a file is timed: a full collection of the whole process (a test
            # session's, a gate's) would be charged to whichever file happened to trigger it.
            collecting = gc.isenabled()
            gc.disable()
            start = time.thread_time()
            try:
                with _recording_reads(Path(filepath).resolve()):
                    return super().process_file(filepath, *args, **kwargs)
            finally:
                path = Path(filepath).resolve()
                cpu_seconds[path] = cpu_seconds.get(path, 0.0) + time.thread_time() - start
                if collecting:
                    gc.enable()

    bag = airflow_compat.dag_bag(folder, cls=CpuTimedDagBag, files=files)
    return bag, cpu_seconds


_LOADED: dict[Path, LoadedBag] = {}


def load_once(folder: Path) -> LoadedBag:
    """`load`, memoised per folder: the test session parses each folder exactly once."""
    folder = Path(folder).resolve()
    if folder not in _LOADED:
        _LOADED[folder] = load(folder)
        try:
            write_reads(_LOADED[folder])
        except OSError:  # a read-only checkout: the pre-push hook then tests every DAG
            pass
        # The parsed DAGs live as long as the session: keep the garbage collector from walking them again in
        # every later full collection (pytest runs several at the end of a session).
        gc.freeze()
    return _LOADED[folder]
