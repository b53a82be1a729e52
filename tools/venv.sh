#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by the three commands and the git hooks: builds .venv on first use and reinstalls the
# pinned requirements only when a requirements file (or the venv's interpreter) changed since the last install.
# Every install applies the MWAA image's own constraints, so local versions are the versions MWAA runs.
# Runs under macOS's bash 3.2 and BSD tools: anything beyond plain shell is done by Python.

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# LAKEHOUSE_VENV points a copy of the repository (e.g. the checkout the pre-push hook tests) at an existing venv.
VENV="${LAKEHOUSE_VENV:-$ROOT/.venv}"
REQ="$ROOT/requirements"
# The import roots (tools/: gate, deploy, local_aws, sample_data; plugins/: lakehouse), set here only. They
# are this checkout's, so a copy sharing a venv through LAKEHOUSE_VENV imports its own code, never the venv
# owner's (why not a .pth file in the venv). pytest gets the same two from pyproject.toml's pythonpath.
export PYTHONPATH="$ROOT/tools:$ROOT/plugins${PYTHONPATH:+:$PYTHONPATH}"

# Prints the interpreter's version; exit 3: not 3.11 or 3.12 (the pins are MWAA's, for 3.12; Airflow 3.0
# refuses 3.13), 4: it cannot create a venv (Debian's python3.X without python3.X-venv).
PYTHON_PROBE='import sys
print("%d.%d.%d" % sys.version_info[:3])
if not (3, 11) <= sys.version_info[:2] <= (3, 12):
    sys.exit(3)
try:
    import ensurepip, venv
except ImportError:
    sys.exit(4)'

# Where laptops keep Python 3.12 besides PATH: pyenv's versions, uv's managed Pythons, Homebrew's keg.
python_candidates() {
    local pyenv_root found
    echo python3.12
    pyenv_root=$(pyenv root 2>/dev/null) || pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for found in "$pyenv_root"/versions/3.12*/bin/python3.12; do echo "$found"; done
    if found=$(uv python find 3.12 2>/dev/null); then echo "$found"; fi
    # HOMEBREW_PREFIX is set by `brew shellenv`; otherwise Homebrew's default prefixes (arm64, x86_64, Linux)
    for found in ${HOMEBREW_PREFIX:-/opt/homebrew /usr/local /home/linuxbrew/.linuxbrew}; do
        echo "$found/opt/python@3.12/bin/python3.12"
    done
    echo python3.11
    echo python3
}

# The interpreter for a new venv: LAKEHOUSE_PYTHON if set, else the first Python 3.12 (then 3.11) found.
pick_python() {
    local candidate version status tried=""
    if [ -n "${LAKEHOUSE_PYTHON:-}" ]; then
        version=$("$LAKEHOUSE_PYTHON" -c "$PYTHON_PROBE" 2>/dev/null)
        status=$?
        [ "$status" -eq 0 ] && echo "$LAKEHOUSE_PYTHON" && return 0
        case "$status" in
            3) echo "error: LAKEHOUSE_PYTHON=$LAKEHOUSE_PYTHON is Python $version; the MWAA pins need 3.12 (or 3.11)." >&2 ;;
            4) echo "error: LAKEHOUSE_PYTHON=$LAKEHOUSE_PYTHON (Python $version) cannot create a venv: its venv/ensurepip module is missing." >&2 ;;
            *) echo "error: LAKEHOUSE_PYTHON=$LAKEHOUSE_PYTHON does not run." >&2 ;;
        esac
        python_help
        return 1
    fi
    while read -r candidate; do
        version=$("$candidate" -c "$PYTHON_PROBE" 2>/dev/null)
        status=$?
        case "$status" in
            0) echo "$candidate" && return 0 ;;
            3) tried="$tried $candidate ($version)" ;;
            4) tried="$tried $candidate ($version, no venv module)" ;;
        esac
    done <<EOF
$(python_candidates)
EOF
    echo "error: no Python 3.12 (or 3.11) found; the MWAA pins need one (MWAA runs 3.12). Found instead:${tried:- none}." >&2
    python_help
    return 1
}

python_help() {
    cat >&2 <<'EOF'
Fix: install Python 3.12 one of these ways, then rerun (it is found on PATH, in pyenv, uv or Homebrew):
  macOS, Homebrew:  brew install python@3.12
  pyenv:            pyenv install 3.12
  uv:               uv python install 3.12
  Debian/Ubuntu:    sudo apt-get install python3.12 python3.12-venv
or choose one:      LAKEHOUSE_PYTHON=/path/to/python3.12 ./run_tests.sh
EOF
}

# The stamp of an install: sha256 of the requirements files and the interpreter's version (python -VV).
requirements_hash() {
    "$1" -c 'import hashlib, sys
digest = hashlib.sha256()
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        digest.update(f.read())
digest.update(("Python %s\n" % sys.version).encode())
print(digest.hexdigest())' "$REQ"/*.txt
}

# build/ and .venv are this machine's own: logs, caches, the green-run stamp, the environment. A tree that carries
# either (a build symlink `git add -A` took, a file forced past .gitignore) would have the commands write through
# it or trust what it holds, so they refuse it before writing anything.
refuse_committed_machine_paths() {
    local carried
    command -v git >/dev/null 2>&1 || return 0 # no git, no checkout to carry anything
    carried=$(cd "$ROOT" && git ls-files -- build .venv 2>/dev/null)
    [ -z "$carried" ] && return 0
    carried=${carried%%$'\n'*} # the first
    echo "error: $carried is committed in this checkout, but ${carried%%/*} is each machine's own (logs, caches," \
        "the green-run stamp, the environment); nothing runs on a tree that carries it." \
        "Fix: git rm -r -q --cached ${carried%%/*} && git commit -m 'Untrack ${carried%%/*}'" >&2
    return 1
}

ensure_venv() {
    local py stamp wanted version
    refuse_committed_machine_paths || return 1
    stamp="$VENV/.requirements.sha256"
    # An existing venv keeps its interpreter: no search for one, one Python start when nothing changed.
    if wanted=$(requirements_hash "$VENV/bin/python" 2>/dev/null); then
        py="$VENV/bin/python"
    else
        py=$(pick_python) || return 1
        wanted=$(requirements_hash "$py") || return 1
    fi
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    echo "== installing pinned requirements into $VENV (first run or requirements changed) =="
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [ "$version" != "3.12" ]; then
        echo "warning: local Python is $version, MWAA runs 3.12; pins are the same, bytecode details may differ" >&2
    fi
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV" || return 1
    # MWAA's requirements.txt names the constraints by their path on MWAA; locally the same files are used.
    grep -v -E '^[[:space:]]*(-c|--constraint)[[:space:]]' "$REQ/requirements.txt" >"$VENV/mwaa-requirements.txt"
    # The image constraints less our own lint tools' names, kept in the venv (tools/constraints.py).
    { "$VENV/bin/python" "$ROOT/tools/constraints.py" write "$VENV/lakehouse-constraints.txt" &&
        "$VENV/bin/python" -m pip install --quiet --upgrade pip &&
        "$VENV/bin/python" -m pip install --quiet \
            -r "$VENV/mwaa-requirements.txt" -r "$REQ/dev.txt" -c "$VENV/lakehouse-constraints.txt"; } || {
        echo "error: pip install failed; fix requirements/ and rerun (nothing was stamped)" >&2
        return 1
    }
    echo "$wanted" >"$stamp"
}

# Executed rather than sourced: one command in the venv with this checkout's import roots, e.g.
#   tools/venv.sh python tools/benchmarks/sync.py
#   tools/venv.sh python -m sample_data.tickit --out build/sample --seed 7
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    if [ $# -eq 0 ]; then
        echo "usage: tools/venv.sh COMMAND [ARGS...]   (e.g. tools/venv.sh python -m deploy.cli --help)" >&2
        exit 2
    fi
    ensure_venv || exit 1
    PATH="$VENV/bin:$PATH" exec "$@"
fi
