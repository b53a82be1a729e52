"""The secret scan: detect-secrets' pattern detectors over file contents, one scanner for every caller.

    python -m gate.secret_scan [TREE]    every file of the git tree TREE (default: the working tree as
                                         deploy.stamp records it); what ./run_tests.sh runs, fast path too

hooks/pre_commit.py scans the lines a commit adds with the same scan(). Every regular file is read, large
or not. Text is decoded leniently; in a binary file (one with a NUL byte) the runs of 8 or more printable
ASCII characters are what is scanned (as `strings` shows them: a key is text, and 150 MB of random bytes
then costs seconds, not minutes), each with the number of the line it starts on. A line ending with the
comment `pragma: allowlist secret` is accepted (detect-secrets' own allow-list filter).

Speed: detect-secrets runs its filters and every detector on each line (about 10 s for this repository).
Only a line that one of the detectors' patterns matches can hold a finding. Every pattern needs one of a few
literal strings in its match (read from the parsed pattern: `AKIA`..., `BEGIN`, `://`, `key`/`token`...),
so a text file's lines holding none of them are skipped after a few `bytes.find` calls; one combined
regular expression then picks the lines a pattern really matches, and detect-secrets examines just those,
with the same filters and context. The tree scan keeps its verdicts by path and blob hash in
build/test-gate/secret-scan.json, so a rerun reads only the files that changed (keyed by this module's
source and the detect-secrets version).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre_constants  # re's own parser: the literals a pattern needs, not a guess
from re import _parser as sre_parse

# Entropy and keyword detectors fire on this repository's SHA pins, hashes and moto's fake "testing" keys;
# the pattern detectors (AWS keys, passwords in connection URIs, private keys, tokens) do not.
SKIPPED_DETECTORS = {"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector", "IPPublicDetector"}
ALLOWLIST_COMMENT = "pragma: allowlist secret"
FIX = (
    "remove the credential (and rotate it if it was ever pushed); credentials belong in Airflow connections "
    "or AWS Secrets Manager. A false positive: end the line with the comment `" + ALLOWLIST_COMMENT + "`."
)
CACHE_FILE = Path("build") / "test-gate" / "secret-scan.json"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # universal newlines, as editors and detect-secrets number lines
_PRINTABLE_RUN = re.compile(rb"[\t\x20-\x7e]{8,}")
_SCOPED_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    kind: str  # detect-secrets' secret type, e.g. "AWS Access Key"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def lines_of(data: bytes) -> list[str]:
    """A text's lines (line N is lines[N - 1]), decoded leniently (invalid UTF-8 becomes U+FFFD)."""
    text = data.decode("utf-8", errors="replace")
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def readable(data: bytes) -> tuple[list[str], list[int] | None]:
    """What the scan reads and the line number of each: every line of a text (numbers None: index + 1),
    the printable runs of a binary."""
    if b"\0" not in data:
        return lines_of(data), None
    runs, numbers, line, position = [], [], 1, 0
    for run in _PRINTABLE_RUN.finditer(data):
        line += _line_breaks(data[position : run.start()])  # a run holds no line break: none is split
        runs.append(run.group().decode("ascii"))
        numbers.append(line)
        position = run.start()
    return runs, numbers


def _line_breaks(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


@contextmanager
def _detectors():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import transient_settings

    plugins = [
        {"name": cls.__name__}
        for cls in get_mapping_from_secret_type_to_class().values()
        if cls.__name__ not in SKIPPED_DETECTORS
    ]
    with transient_settings({"plugins_used": plugins}):
        yield


@functools.cache
def _candidate_pattern() -> re.Pattern | None:
    """One expression matching wherever any detector's pattern matches; None if that cannot be built."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    parts = []
    for cls in get_mapping_from_secret_type_to_class().values():
        if cls.__name__ in SKIPPED_DETECTORS:
            continue
        denylist = getattr(cls(), "denylist", None)
        if not denylist:
            return None  # a detector that is not pattern-based: every line is a candidate
        for pattern in denylist:
            if re.search(r"\\[1-9]|\(\?P=", pattern.pattern):
                return None  # a back-reference would change meaning inside a combined expression
            flags = "".join(letter for flag, letter in _SCOPED_FLAGS if pattern.flags & flag)
            parts.append(f"(?{flags}:{pattern.pattern})" if flags else f"(?:{pattern.pattern})")
    return re.compile("|".join(parts))


def _required_literals(items) -> set[str] | None:
    """Strings one of which every match of the parsed sequence `items` contains; None when there are none."""
    options, run = [], ""
    for op, argument in items:
        if op is sre_constants.LITERAL:
            run += chr(argument)
            continue
        if run:
            options.append({run})
            run = ""
        if op is sre_constants.SUBPATTERN:  # (group, added flags, removed flags, items)
            needed = None if argument[1] or argument[2] else _required_literals(argument[-1])
        elif op is sre_constants.ATOMIC_GROUP:
            needed = _required_literals(argument)
        elif op is sre_constants.BRANCH:
            alternatives = [_required_literals(branch) for branch in argument[1]]
            needed = None if None in alternatives else set().union(*alternatives)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            needed = _required_literals(argument[2]) if argument[0] >= 1 else None
        else:
            needed = None  # a class, any character, an anchor or a lookaround: no literal is certain
        if needed:
            options.append(needed)
    if run:
        options.append({run})
    return max(options, key=lambda strings: min(map(len, strings)), default=None)


@functools.cache
def _literal_plan() -> tuple[tuple[bytes, ...], tuple[bytes, ...]] | None:
    """(case-sensitive, lower-cased case-insensitive) literals, one of which any detector match contains.

    None when some detector pattern yields none (then every line is a candidate).
    """
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    exact, folded = set(), set()
    for cls in get_mapping_from_secret_type_to_class().values():
        if cls.__name__ in SKIPPED_DETECTORS:
            continue
        for pattern in getattr(cls(), "denylist", None) or [None]:
            needed = _required_literals(sre_parse.parse(pattern.pattern, pattern.flags)) if pattern else None
            if not needed or not all(text.isascii() for text in needed):
                return None
            if pattern.flags & re.IGNORECASE:
                folded |= {text.lower().encode() for text in needed}
            else:
                exact |= {text.encode() for text in needed}
    return tuple(sorted(exact)), tuple(sorted(folded))


def _lines_with_literals(data: bytes) -> set[int] | None:
    """Numbers of the lines of a text holding a literal of _literal_plan (None: every line)."""
    plan = _literal_plan()
    if plan is None:
        return None
    offsets = set()
    for haystack, literals in ((data, plan[0]), (data.lower(), plan[1])):
        for literal in literals:
            found = haystack.find(literal)
            while found != -1:
                offsets.add(found)
                found = haystack.find(literal, found + 1)
    numbers, line, position = set(), 1, 0
    for offset in sorted(offsets):
        line += _line_breaks(data[position:offset])
        numbers.add(line)
        position = offset
    return numbers


def _scan_lines(
    path: str, texts: list[str], numbers: list[int] | None, wanted: set[int] | None
) -> set[Finding]:
    """detect-secrets' line processing (scan._process_line_based_plugins) on the wanted candidate lines."""
    from detect_secrets.core.scan import _is_filtered_out, _scan_line, get_plugins
    from detect_secrets.util.code_snippet import get_code_snippet

    if numbers is None:  # a text: line N is texts[N - 1]
        indices = (
            range(len(texts)) if wanted is None else [n - 1 for n in sorted(wanted) if 0 < n <= len(texts)]
        )
    else:
        indices = [i for i, number in enumerate(numbers) if wanted is None or number in wanted]
    candidates = _candidate_pattern()
    findings = set()
    for index in indices:
        number = index + 1 if numbers is None else numbers[index]
        line = texts[index].rstrip()
        if candidates is not None and not candidates.search(line):
            continue
        context = get_code_snippet(lines=texts, line_number=index + 1)
        if _is_filtered_out(required_filter_parameters=["line"], filename=path, line=line, context=context):
            continue
        for plugin in get_plugins():
            for secret in _scan_line(
                plugin=plugin, filename=path, line=line, line_number=number, context=context
            ):
                if not _is_filtered_out(
                    required_filter_parameters=["context"],
                    filename=secret.filename,
                    secret=secret.secret_value,
                    plugin=plugin,
                    line=line,
                    context=context,
                ):
                    findings.add(Finding(path, number, secret.type))
    return findings


def scan(files: Iterable[tuple[str, bytes, set[int] | None]]) -> list[Finding]:
    """Findings in (path, contents, line numbers to report or None for all) triples, sorted."""
    findings: set[Finding] = set()
    with _detectors():
        for path, data, wanted in files:
            if b"\0" not in data:
                candidates = _lines_with_literals(data)
                if candidates is not None:
                    wanted = candidates if wanted is None else wanted & candidates
                if wanted == set():
                    continue  # not a single candidate line: no need to decode and split the text
            findings |= _scan_lines(path, *readable(data), wanted)
    return sorted(findings)


def _cache_version() -> str:
    from importlib.metadata import version

    return hashlib.sha256(Path(__file__).read_bytes() + version("detect-secrets").encode()).hexdigest()


def _load_cache(path: Path, version: str) -> dict[str, list]:
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return cached.get("verdicts", {}) if cached.get("version") == version else {}


def carried_cache(repo: Path, cache: Path, entries) -> str | None:
    """The cache's path when the tree scanned holds a file there (committed with `git add -f`), else None."""
    try:
        relative = cache.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return None
    return relative if any(entry.path == relative for entry in entries) else None


def scan_tree(repo: Path, tree: str, cache: Path | None = None) -> tuple[int, list[Finding]]:
    """(files scanned, findings) over every regular file of the git tree `tree`.

    With `cache`, files (path and blob) already scanned are not read again, and the cache is rewritten
    with this tree's verdicts.
    """
    from deploy.bundle import SUBMODULE_MODE, SYMLINK_MODE, read_blobs, tree_entries

    every_entry = tree_entries(repo, tree)
    entries = [e for e in every_entry if e.mode not in (SYMLINK_MODE, SUBMODULE_MODE)]
    carried = carried_cache(repo, cache, every_entry) if cache else None
    if carried:
        # A verdict the tree brings with it is no verdict: every file is scanned, the file left as it is.
        print(
            f"secret scan: {carried} is committed in tree {tree[:12]}; not trusted, every file scanned. "
            f"Fix: git rm --cached {carried}"
        )
        cache = None
    version = _cache_version() if cache else ""
    verdicts = _load_cache(cache, version) if cache else {}
    keys = {entry.path: f"{entry.sha} {entry.path}" for entry in entries}
    todo = [entry for entry in entries if keys[entry.path] not in verdicts]
    blobs = read_blobs(repo, [entry.sha for entry in todo])
    fresh = scan((entry.path, blobs[entry.sha], None) for entry in todo) if todo else []
    for entry in todo:
        verdicts[keys[entry.path]] = []
    for finding in fresh:
        verdicts[keys[finding.path]].append([finding.line, finding.kind])
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        kept = {key: verdicts[key] for key in keys.values()}
        cache.write_text(json.dumps({"version": version, "verdicts": kept}, sort_keys=True))
    findings = [Finding(path, line, kind) for path, key in keys.items() for line, kind in verdicts[key]]
    return len(entries), sorted(findings)


def main(argv: list[str]) -> int:
    from deploy import bundle, stamp

    if len(argv) > 1:
        print(
            f"secret scan: one tree at most, got {len(argv)} ({' '.join(argv)}). "
            "Fix: python -m gate.secret_scan [TREE] (default: the working tree).",
            file=sys.stderr,
        )
        return 2
    repo = Path.cwd()
    started = time.monotonic()
    try:
        tree = argv[0] if argv else stamp.tree_hash(repo)
        count, findings = scan_tree(repo, tree, cache=repo / CACHE_FILE)
    except (stamp.GitError, bundle.BundleError) as error:
        print(f"secret scan: {error}. Fix: run from a git checkout of the repository.", file=sys.stderr)
        return 1
    if findings:
        print(f"secret scan: possible credentials in tree {tree[:12]}:")
        print("\n".join(f"  {finding}" for finding in findings))
        print(f"Fix: {FIX}")
        return 1
    print(
        f"secret scan: {count} files of tree {tree[:12]}, no credentials ({time.monotonic() - started:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
