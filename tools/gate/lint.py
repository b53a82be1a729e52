"""flake8 and black as the gate runs them, skipping files whose exact content already passed.

    python -m gate.lint flake8 PATH...          flake8 PATH... (the same files, options and output)
    python -m gate.lint black --check PATH...   black --check PATH...

Each tool finds its files itself (its excludes, its configuration). A file is skipped when the same tool,
version and per-file options passed on the same content at the same repository-relative path before, in any
checkout: the pre-push hook's temporary one, a fresh clone, this one. Only passes are recorded, so a failing
file is checked on every run. The record lives outside the repository (LINT_CACHE): nothing committed can
mark a file as passed.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

LINT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lakehouse-gate" / "lint"
# flake8 options that choose files or shape the output; every other option can change a file's verdict.
FLAKE8_NOT_PER_FILE = frozenset(
    {
        "filenames",
        "exclude",
        "extend_exclude",
        "filename",
        "stdin_display_name",
        "jobs",
        "output_file",
        "tee",
        "color",
        "format",
        "quiet",
        "verbose",
        "count",
        "statistics",
        "benchmark",
        "show_source",
        "bug_report",
    }
)


class Passes:
    """The files one tool, with one set of per-file options, passed: keyed by path and content."""

    def __init__(self, tool: str, options: str, folder: Path = LINT_CACHE) -> None:
        self.folder = folder / tool
        self.options = f"{tool}\0{options}\0".encode()
        self._keys: dict[str, str | None] = {}

    def key(self, path: str) -> str | None:
        """The file's key as first read in this run: a pass is recorded for the content the tool was given,
        not for an edit made while it ran."""
        if path not in self._keys:
            try:
                content = Path(path).read_bytes()
            except OSError:
                self._keys[path] = None  # the tool reports it
            else:
                relative = os.path.relpath(path).encode()
                self._keys[path] = hashlib.sha256(self.options + relative + b"\0" + content).hexdigest()
        return self._keys[path]

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def passed(self, path: str) -> bool:
        key = self.key(path)
        return key is not None and self._entry(key).exists()

    def record(self, paths) -> None:
        for path in paths:
            key = self.key(path)
            if key is not None:
                entry = self._entry(key)
                try:
                    entry.parent.mkdir(parents=True, exist_ok=True)
                    entry.touch()
                except OSError:
                    return  # an unwritable cache only costs time


def flake8(argv: list[str]) -> int:
    from flake8.main.application import Application

    app = Application()
    app.initialize(argv)
    per_file = sorted((k, v) for k, v in vars(app.options).items() if k not in FLAKE8_NOT_PER_FILE)
    passes = Passes("flake8", f"{app.plugins.versions_str()}\0{per_file!r}")
    manager = app.file_checker_manager
    find_files = manager.start
    checked: list[str] = []
    failed: set[str] = set()

    def start() -> None:
        find_files()
        checked.extend(name for name in manager.filenames if not passes.passed(name))
        manager.filenames = tuple(checked)
        manager.jobs = min(len(checked), manager.jobs)

    report_error = app.guide.handle_error

    def handle_error(code, filename, *args, **kwargs) -> int:
        reported = report_error(code, filename, *args, **kwargs)
        if reported:
            failed.add(filename)
        return reported

    manager.start = start
    app.guide.handle_error = handle_error
    app.run_checks()
    app.report()
    if not app.catastrophic_failure:
        passes.record(name for name in checked if name not in failed)
    return app.exit_code()


def black(argv: list[str]) -> int:
    import black as tool
    from black import concurrency
    from black.report import Changed

    def skipping_passed(reformat, sources_argument: str):
        def run(**kwargs):
            mode, report = kwargs["mode"], kwargs["report"]
            passes = Passes("black", f"{tool.__version__}\0{mode.get_cache_key()}\0{kwargs['write_back']}")
            sources = kwargs[sources_argument]
            todo = {sources} if sources_argument == "src" else set(sources)
            for source in sorted(todo):
                if passes.passed(str(source)):
                    report.done(source, Changed.CACHED)
                    todo.discard(source)
            if not todo:
                return
            done = report.done
            unchanged: list[str] = []

            def record_done(source, changed) -> None:
                if changed is not Changed.YES:
                    unchanged.append(str(source))
                done(source, changed)

            report.done = record_done
            if sources_argument == "src":
                reformat(**kwargs)
            else:
                reformat(**{**kwargs, "sources": todo})
            report.done = done
            passes.record(unchanged)

        return run

    tool.reformat_one = skipping_passed(tool.reformat_one, "src")
    concurrency.reformat_many = skipping_passed(concurrency.reformat_many, "sources")
    try:
        tool.main(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


TOOLS = {"flake8": flake8, "black": black}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TOOLS:
        print(f"usage: python -m gate.lint {{{'|'.join(TOOLS)}}} ARGS...", file=sys.stderr)
        return 2
    return TOOLS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
