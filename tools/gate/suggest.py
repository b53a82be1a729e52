"""Suggestions for a misspelt name: "did you mean ...?" for a .sql path, a DAG id."""

from __future__ import annotations

import difflib
from typing import Iterable

SUGGESTIONS = 3
CUTOFF = 0.6  # difflib's ratio below which a name is no suggestion
NEARLY = 0.05  # how much less close than the best a suggestion may be


def closest(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates closest to a misspelt `name`, best first (difflib): at most SUGGESTIONS, and only
    those nearly as close as the best (a shared folder prefix makes every sibling look alike)."""
    scored = sorted(
        ((difflib.SequenceMatcher(None, name, c).ratio(), c) for c in set(candidates)),
        key=lambda p: (-p[0], p[1]),
    )
    if not scored or scored[0][0] < CUTOFF:
        return []
    return [c for ratio, c in scored[:SUGGESTIONS] if ratio >= max(CUTOFF, scored[0][0] - NEARLY)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`did you mean 'a' or 'b'? ` for the closest candidates, or an empty string."""
    close = closest(name, candidates)
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
