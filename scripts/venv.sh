# Sourced by run_tests.sh, sync_dags.sh and run_local.sh: builds .venv on first use and reinstalls the
# pinned requirements only when a requirements file (or the interpreter) changed since the last install.
# Every install applies the MWAA image's own constraints, so local versions are the versions MWAA runs.

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# LAKEHOUSE_VENV points a copy of the repository (e.g. the checkout the pre-push hook tests) at an existing venv.
VENV="${LAKEHOUSE_VENV:-$ROOT/.venv}"
REQ="$ROOT/requirements"

pick_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    for candidate in python3.12 python3; do
        # a version-manager shim can exist without a working interpreter behind it: try it
        if "$candidate" -c 'import venv' >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
    echo "error: no python3 on PATH; install Python 3.12 (MWAA's) or 3.11" >&2
    return 1
}

ensure_venv() {
    local py version stamp wanted
    py=$(pick_python) || return 1
    version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: $py is Python $version; the MWAA pins need Python >= 3.11 (MWAA runs 3.12)" >&2
        return 1
    fi
    if [ "$version" != "3.12" ]; then
        echo "warning: local Python is $version, MWAA runs 3.12; pins are the same, bytecode details may differ" >&2
    fi
    wanted=$(cat "$REQ"/*.txt <("$py" -VV) | sha256sum | cut -d' ' -f1)
    stamp="$VENV/.requirements.sha256"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    echo "== installing pinned requirements into .venv (first run or requirements changed) =="
    [ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV" || return 1
    # MWAA's requirements.txt names the constraints by their path on MWAA; locally the same files are used.
    grep -v -E '^\s*(-c|--constraint)\s' "$REQ/requirements.txt" >"$VENV/mwaa-requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip || return 1
    "$VENV/bin/python" -m pip install --quiet \
        -r "$VENV/mwaa-requirements.txt" -r "$REQ/dev.txt" \
        -c "$REQ/constraints.txt" -c "$REQ/mwaa_essential_constraints.txt" || {
        echo "error: pip install failed; fix requirements/ and rerun (nothing was stamped)" >&2
        return 1
    }
    echo "$wanted" >"$stamp"
}
