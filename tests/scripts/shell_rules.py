"""Portability rules for the shell scripts that shellcheck does not enforce: laptops run them with macOS's
/bin/bash 3.2 and BSD tools, CI and MWAA tooling with bash 5 and GNU tools.

Each rule is a pattern over one line of code (full-line comments are skipped) and a fix; `violations`
returns `path:line: rule: fix` for every match. Kept apart from the tests so each rule can be shown to fire.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import NamedTuple
import repository

SHEBANG = re.compile(rb"^#!\s*/(?:\S*/)?(?:env\s+)?(?:ba)?sh\b")
# The arrays bash always fills; every other array may be empty.
ALWAYS_SET_ARRAYS = {"BASH_SOURCE", "FUNCNAME", "BASH_LINENO", "PIPESTATUS", "BASH_VERSINFO"}
# Where a command name stands: start of line or after ; & | ( ` or a keyword that takes a command.
COMMAND = r"(?:^|[;&|(`!]|\b(?:then|do|else|if|while|until|exec|command|xargs(?:\s+-\S+)*))\s*"


class Rule(NamedTuple):
    name: str
    pattern: re.Pattern
    fix: str


def rule(name: str, pattern: str, fix: str) -> Rule:
    return Rule(name, re.compile(pattern), fix)


# One part of a pipeline or list: the arguments of a command end at | ; & or a closing parenthesis.
ARGS = r"[^|;&)]*?"

RULES = (
    # bash 4 and later (macOS ships bash 3.2)
    rule(
        "empty-array-expansion",
        r"\$\{!?(?P<array>\w+)\[[@*]\]",
        'bash < 4.4 stops on an empty array under set -u: expand it as ${name[@]+"${name[@]}"}',
    ),
    rule(
        "declare-bash4",
        r"\b(?:declare|typeset|local|readonly)\s+(?:-\w+\s+)*-\w*[Anlug]\w*\b",
        "declare -A (associative), -n (nameref), -l/-u (case), -g are bash 4: use plain variables or Python",
    ),
    rule("mapfile", r"\b(?:mapfile|readarray)\b", 'bash 4: while IFS= read -r line; do arr+=("$line"); done'),
    rule(
        "case-modification",
        r"\$\{\w+(?:\[[^]]*\])?(?:,,?|\^\^?)",
        "${var,,} / ${var^^} are bash 4: $(printf '%s' \"$var\" | tr '[:upper:]' '[:lower:]')",
    ),
    rule("pipe-stderr", r"\|&", "|& is bash 4: write 2>&1 |"),
    rule("append-both", r"&>>", "&>> is bash 4: write >>file 2>&1"),
    rule("coproc", r"\bcoproc\b", "coproc is bash 4: use a named pipe or Python"),
    rule(
        "negative-index",
        r"\$\{\w+\[\s*-\s*\d+\s*\]|\$\{\w+:[^}:]*:\s*-\s*\d",
        "negative array indices (4.3) and lengths (4.2): ${a[${#a[@]}-1]}, ${s:0:${#s}-1}",
    ),
    rule(
        "transform-operator",
        r"\$\{\w+(?:\[[^]]*\])?@[QEPAaUuLKk]\}",
        "${var@Q} and friends are bash 4.4: use printf %q",
    ),
    rule("case-fallthrough", r";;&|;&\s*$", ";& and ;;& are bash 4: repeat the pattern in another branch"),
    rule(
        "shopt-bash4",
        r"\bshopt\s+-s\s+(?:\w+\s+)*(?:globstar|lastpipe|inherit_errexit|direxpand|autocd|checkjobs)\b",
        "a bash 4 shell option: use find or an explicit loop",
    ),
    rule("wait-n", r"\bwait\s+-n\b", "wait -n is bash 4.3: wait for each pid"),
    rule(
        "bash4-variables",
        r"\$\{?(?:EPOCHSECONDS|EPOCHREALTIME|BASHPID|SRANDOM|BASH_ARGV0)\b",
        "a bash 4/5 variable: $(date +%s), $$, or Python",
    ),
    rule("test-v", r"(?:\[\[?|\btest)\s+-v\s", '-v is bash 4.2: [ -n "${name+set}" ]'),
    rule(
        "brace-sequence-bash4",
        r"\{-?\w+\.\.-?\w+\.\.-?\d+\}|\{0\d+\.\.\d+\}",
        "stepped or zero-padded {a..b} ranges are bash 4: seq, or a while loop",
    ),
    rule("printf-time", r"%\([^)]*\)T", "printf %(...)T is bash 4.2: date"),
    # GNU-only tools and flags (macOS has BSD's)
    rule(
        "sed-in-place",
        rf"\bsed\s{ARGS}(?<=\s)(?:-[A-Za-z]*i(?=\s|$)|--in-place)",
        "sed -i takes a suffix on BSD and none on GNU: sed -i.bak ... && rm FILE.bak, or Python",
    ),
    rule("sed-r", rf"\bsed\s{ARGS}(?<=\s)-[A-Za-z]*r\b", "sed -r is GNU's: sed -E works on both"),
    rule(
        "readlink-f",
        rf"\breadlink\s{ARGS}(?<=\s)-[A-Za-z]*[fem]\b",
        'readlink -f is GNU (macOS 12.3+ only): $(cd "$(dirname "$0")" && pwd), or os.path.realpath',
    ),
    rule(
        "stat-c", rf"\bstat\s{ARGS}(?<=\s)(?:-[A-Za-z]*c\b|--)", "BSD stat has no -c: wc -c <FILE, or Python"
    ),
    rule(
        "date-gnu",
        rf"\bdate\s{ARGS}(?:%N|(?<=\s)(?:-d|--date|-I|--iso)\b)",
        "date +%N and date -d are GNU's: python -c 'import time; print(time.time_ns())' or datetime",
    ),
    rule(
        "gnu-only-command",
        COMMAND + r"(?:sha\d*sum|md5sum|b2sum|tac|nproc|timeout|realpath|shuf|numfmt|stdbuf)\b",
        "not on macOS: use Python (hashlib, os.cpu_count, subprocess timeout) or a POSIX tool",
    ),
    rule(
        "grep-perl",
        rf"\bgrep\s{ARGS}(?<=\s)(?:-[A-Za-z]*P|--perl-regexp)\b",
        "BSD grep has no -P: grep -E with [[:space:]] classes, or Python re",
    ),
    rule(
        "gnu-regex-escape",
        rf"\b(?:grep|sed)\s{ARGS}\\[sSwW]",
        "\\s and \\w are GNU extensions: [[:space:]], [[:alnum:]_]",
    ),
    rule(
        "xargs-r",
        rf"\bxargs\s{ARGS}(?<=\s)(?:-[A-Za-z]*r\b|--no-run-if-empty)",
        "xargs -r is GNU's: test for input first",
    ),
    rule(
        "gnu-long-option",
        rf"{COMMAND}(?:cp|mv|rm|ln|mkdir|touch|mktemp|head|tail|cut|wc|tr|sort|uniq|sed|du|ls|chmod)\s{ARGS}"
        r"(?<=\s)--[a-z]",
        "--long options of the core tools are GNU's: use the POSIX short option",
    ),
    rule(
        "head-negative", rf"\bhead\s{ARGS}(?<=\s)-[nc]\s*-\d", "head -n -N is GNU's: sed '$d', awk, or Python"
    ),
    rule(
        "mktemp-template",
        r"\bmktemp\b(?![^|;&)]*XXX)",
        'BSD mktemp wants a template: mktemp -d "${TMPDIR:-/tmp}/name.XXXXXX"',
    ),
    rule("find-gnu", rf"\bfind\s{ARGS}(?<=\s)-(?:printf|regextype|quit)\b", "a GNU find action: use -exec"),
)

# ${name[@]+"${name[@]}"}: expands to nothing when the array is empty, on every bash.
GUARDED = re.compile(r'\$\{(\w+)\[([@*])\]\+("?)\$\{\1\[\2\]\}\3\}')


def code_lines(text: str):
    """(line number, line) of each line that is not a comment."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("#"):
            yield number, line


def line_violations(line: str) -> list[tuple[str, str]]:
    """(rule, fix) for each rule the line breaks."""
    found = []
    unguarded = GUARDED.sub("", line)
    for each in RULES:
        if each.name == "empty-array-expansion":
            arrays = {m["array"] for m in each.pattern.finditer(unguarded)} - ALWAYS_SET_ARRAYS
            if arrays:
                found.append((each.name, f"{', '.join(sorted(arrays))}: {each.fix}"))
        elif each.pattern.search(line):
            found.append((each.name, each.fix))
    return found


def violations(path: Path, text: str | None = None) -> list[str]:
    text = path.read_text() if text is None else text
    return [
        f"{path}:{number}: {name}: {fix}"
        for number, line in code_lines(text)
        for name, fix in line_violations(line)
    ]


def is_shell_script(path: Path) -> bool:
    if path.suffix in (".sh", ".bash"):
        return True
    try:
        with path.open("rb") as f:
            return bool(SHEBANG.match(f.readline()))
    except OSError:
        return False


def shell_scripts(root: Path = repository.ROOT) -> list[Path]:
    """Every shell script of the repository: tracked or new, not ignored (so never .venv or build/)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = {root / name for name in listed.split("\0") if name}
    return sorted(path for path in paths if path.is_file() and is_shell_script(path))
