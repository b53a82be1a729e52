"""Line recorder of a mutation run's mapping pass (python -m mutation): started in every Python process of the
unmutated test run, the pytest process and the ones its tests start (git hooks, the deploy CLI), through this
folder on PYTHONPATH. It records which lines of the mutated modules each test executes (sys.monitoring, so
only their lines cost a callback), which tests open a mutated file (the SQL templates: as line 0), and which
tests start a process it cannot see into.

Stand-alone on purpose: a subprocess may run from a copy of the repository without tools/mutation.
Inactive unless LAKEHOUSE_MUTATION_LINES names the mapping folder. In that folder: `targets` (the module paths
to record, one a line), `current` (the bucket of the running test, written by the pytest plugin
mutation.linemap), and one `lines-<pid>.json` per process.
"""

from __future__ import annotations

import atexit
import json
import os
import sys

FOLDER = os.environ.get("LAKEHOUSE_MUTATION_LINES")
SITE = os.path.dirname(os.path.abspath(__file__))
# Bucket of lines run outside a known test (imports, collection, fixtures shared by tests): any test may
# depend on them, so a mutant there runs all of its module's tests.
ANY_TEST = "*"
# Programs that never run our Python: their environment need not carry the recorder.
NEVER_PYTHON = {"tar", "gzip", "gunzip", "zip", "unzip", "shellcheck", "initdb", "pg_ctl", "postgres", "psql"}
# git subcommands that may run a hook (our Python) in the started process.
GIT_HOOKING = {
    "commit",
    "push",
    "merge",
    "am",
    "rebase",
    "cherry-pick",
    "checkout",
    "switch",
    "pull",
    "revert",
}


class Recorder:
    def __init__(self, folder: str):
        self.folder = folder
        with open(os.path.join(folder, "targets")) as f:
            self.targets = [line.strip() for line in f if line.strip()]
        self.bucket = self.current_bucket()
        self.lines: dict[str, set] = {}
        self.blind: set[str] = set()
        self.dump_at_exit = True
        self._where: dict[str, str | None] = {}

    def current_bucket(self) -> str:
        try:
            with open(os.path.join(self.folder, "current")) as f:
                return f.read().strip() or ANY_TEST
        except OSError:
            return ANY_TEST

    def module_of(self, filename: str) -> str | None:
        found = self._where.get(filename, "")
        if found == "":
            path = filename.replace(os.sep, "/")
            found = next((t for t in self.targets if path.endswith("/" + t)), None)
            self._where[filename] = found
        return found

    def on_line(self, code, line):
        module = self.module_of(code.co_filename)
        if module is None:
            return sys.monitoring.DISABLE  # never again for this location: other code costs one callback
        self.lines.setdefault(self.bucket, set()).add((module, line))

    def on_audit(self, event: str, args) -> None:
        if event == "open":  # a file read (the SQL templates): filed as its line 0
            if isinstance(args[0], (str, bytes)):
                module = self.module_of(_key(os.fsdecode(args[0])))
                if module is not None:
                    self.lines.setdefault(self.bucket, set()).add((module, 0))
            return
        if event == "subprocess.Popen":
            _, argv, _, env = args
        elif event in ("os.posix_spawn", "os.exec"):
            _, argv, env = args
        elif event == "os.system":
            argv, env = args[0], None
        else:
            return
        if not _carries_the_recorder(os.environ if env is None else env) and _may_run_python(argv):
            self.blind.add(self.bucket)

    def start(self) -> None:
        tool = next(i for i in range(6) if sys.monitoring.get_tool(i) is None)
        sys.monitoring.use_tool_id(tool, "mutation-lines")
        sys.monitoring.register_callback(tool, sys.monitoring.events.LINE, self.on_line)
        sys.monitoring.set_events(tool, sys.monitoring.events.LINE)
        sys.addaudithook(self.on_audit)
        atexit.register(self.dump)

    def dump(self) -> None:
        if not self.dump_at_exit:
            return
        data = {
            "lines": {bucket: sorted(lines) for bucket, lines in self.lines.items()},
            "blind": sorted(self.blind),
        }
        with open(os.path.join(self.folder, f"lines-{os.getpid()}.json"), "w") as f:
            json.dump(data, f)


def _carries_the_recorder(env) -> bool:
    """Whether a process started with `env` starts the recorder: the mapping folder named and this folder on
    PYTHONPATH (a test setting PYTHONPATH to the import roots alone leaves it out)."""
    values = {_key(k): _key(v) for k, v in env.items()}
    return bool(values.get("LAKEHOUSE_MUTATION_LINES")) and SITE in values.get("PYTHONPATH", "").split(
        os.pathsep
    )


def _key(name) -> str:
    return name.decode() if isinstance(name, bytes) else name


def _may_run_python(argv) -> bool:
    """Whether a started program may run our Python (then a test starting it without the recorder's
    environment is run for every mutant of its module)."""
    if isinstance(argv, (str, bytes)):
        words = _key(argv).split()
    else:
        words = [_key(os.fsdecode(a)) for a in argv]
    if not words:
        return True
    program = os.path.basename(words[0])
    if program == "git":
        return bool(GIT_HOOKING & set(words[1:]))
    return program not in NEVER_PYTHON


RECORDER = None
if FOLDER and sys.version_info >= (3, 12):
    RECORDER = Recorder(FOLDER)
    RECORDER.start()
