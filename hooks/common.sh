# shellcheck shell=bash
# Sourced by the git hooks: the repository root and its venv (tools/venv.sh decides where that is).
ROOT=$(git rev-parse --show-toplevel) || exit 1
# shellcheck source=tools/venv.sh
source "$ROOT/tools/venv.sh"

require_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "$1: no virtualenv at $VENV." >&2
        echo "Fix: run ./run_tests.sh once (it builds .venv with the pinned tools), then retry." >&2
        exit 1
    fi
}
