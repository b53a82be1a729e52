"""Blob contents by SHA, read by one `git cat-file --batch`: for the pre-commit hook and the deploy bundle.

Standard library only, and listed in repository.HOOK_FILES: the git hooks import it from a bare checkout.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Git(Protocol):
    """Runs `git ARGS` with `stdin`, returns its standard output; raises the caller's error on failure."""

    def __call__(self, *args: str, stdin: bytes | None = None) -> bytes: ...


class MissingBlob(LookupError):
    """git has no object of that SHA."""


def read_blobs(git: Git, shas: Iterable[str]) -> dict[str, bytes]:
    """{sha: content} for every distinct SHA, in one git process however many there are."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    out = git("cat-file", "--batch", stdin="".join(f"{sha}\n" for sha in wanted).encode())
    blobs, position = {}, 0
    for sha in wanted:
        header_end = out.index(b"\n", position)
        header = out[position:header_end].split(b" ")
        if len(header) != 3:  # "<sha> missing" (or "ambiguous"): no content follows
            raise MissingBlob(f"git has no blob {sha}: {out[position:header_end].decode(errors='replace')}")
        size = int(header[2])
        blobs[sha] = out[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1  # the content is followed by a newline
    return blobs
