"""Carry out a plan in phases, each finished before the next starts: the environment files, then (through a
callback) the environment update, then the files DAGs read, then the DAG files, then (only if every upload
succeeded) the deletes."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

from deploy.plan import Plan, human_bytes

UPLOAD_THREADS = 8


class ApplyError(RuntimeError):
    """An upload failed; nothing was deleted (the message names the file)."""


@dataclass
class Result:
    uploaded: list[str] = field(default_factory=list)
    uploaded_bytes: int = 0
    deleted: list[str] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)  # key -> new object version id
    environment_update: dict[str, str] | None = None  # key -> version the environment was updated to
    release: object = None  # the release recorded for it (deploy.releases.Release)

    @property
    def empty(self) -> bool:
        return not (self.uploaded or self.deleted or self.environment_update)


class Progress:
    """A one-line progress bar on a terminal; a line per tenth of the work otherwise (CI logs)."""

    WIDTH = 30

    def __init__(self, total_files: int, total_bytes: int, stream=None) -> None:
        self.total_files, self.total_bytes = total_files, total_bytes
        self.files = self.bytes = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._printed_tenths = -1
        self._lock = threading.Lock()

    def advance(self, size: int) -> None:
        with self._lock:
            self.files += 1
            self.bytes += size
            fraction = self.bytes / self.total_bytes if self.total_bytes else self.files / self.total_files
            done = int(fraction * self.WIDTH)
            line = (
                f"uploading [{'#' * done}{'.' * (self.WIDTH - done)}] {self.files}/{self.total_files} files, "
                f"{human_bytes(self.bytes)}/{human_bytes(self.total_bytes)}"
            )
            if self.tty:
                end = "\n" if self.files == self.total_files else ""
                self.stream.write("\r" + line + end)
            elif int(fraction * 10) > self._printed_tenths or self.files == self.total_files:
                self._printed_tenths = int(fraction * 10)
                self.stream.write(line + "\n")
            self.stream.flush()


def apply(
    plan: Plan,
    target,
    progress_stream=None,
    after_environment_files: Callable[[dict[str, str | None]], dict[str, str] | None] | None = None,
    send: Callable[[object], str | None] | None = None,
) -> Result:
    """Upload `plan.phases` one after the other, calling `after_environment_files` with the versions of the
    environment files uploaded after the first phase (its answer: the environment update made), then delete
    `plan.deleted`. A failed upload raises ApplyError, and an exception from the callback propagates, before
    anything of a later phase is sent. `send(item)` puts one item in place and returns its new version id
    (default: upload its bytes; a rollback restores an old version instead)."""
    send = send or (lambda item: target.put(item.key, item.data, item.sha256))
    result = Result()
    uploads = plan.uploads
    progress = Progress(len(uploads), sum(item.size for item in uploads), progress_stream)
    environment_files, *dag_folder_phases = plan.phases
    _upload(environment_files, target, send, progress, result, len(uploads))
    if after_environment_files is not None:
        result.environment_update = after_environment_files(
            {item.key: result.versions[item.key] for item in environment_files}
        )
    for phase in dag_folder_phases:
        _upload(phase, target, send, progress, result, len(uploads))
    if plan.deleted:
        target.delete([item.key for item in plan.deleted])
        result.deleted = [item.key for item in plan.deleted]
    return result


def _upload(items, target, send, progress: Progress, result: Result, total: int) -> None:
    """Upload `items` in parallel; returns when every one is in place, raises ApplyError when one failed."""
    if not items:
        return
    stop = threading.Event()

    def upload(item):
        if stop.is_set():  # a sibling failed: start nothing new
            return
        version = send(item)
        progress.advance(item.size)
        return item, version

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        futures = [pool.submit(upload, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        stop.set()
    failures = [(item, f.exception()) for item, f in zip(items, futures) if f.exception() is not None]
    for future in futures:
        if future.exception() is None and future.result() is not None:
            item, version = future.result()
            result.uploaded.append(item.key)
            result.uploaded_bytes += item.size
            result.versions[item.key] = version
    if failures:
        if progress.tty:
            progress.stream.write("\n")
        item, error = failures[0]
        raise ApplyError(
            f"upload of {item.key} to {target} failed: {error}. {len(result.uploaded)} of {total} "
            "files were uploaded and nothing was deleted. Fix the cause and rerun: the sync picks up "
            "where it stopped."
        ) from error
