#!/usr/bin/env bash
# The gate: flake8, black --check, the secret scan and pytest, in the pinned MWAA environment (.venv, built on
# first use).
#
#   ./run_tests.sh                     everything (what CI runs)
#   ./run_tests.sh --fast              the pre-push path: skips suites marked slow (PostgreSQL, end to end)
#   ./run_tests.sh --update-inventory  rewrite tools/gate/inventory.json from the DAGs that load, then exit
#   ./run_tests.sh [--fast] ARGS...    ARGS go to pytest (e.g. -k redshift, tests/dags); never stamped
#   ./run_tests.sh --upgrade-check [VERSION]  the same on the next MWAA version (docs/upgrade-check.md)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT" || exit 2
# shellcheck source=tools/venv.sh
source "$ROOT/tools/venv.sh"

if [ "${1:-}" = "--upgrade-check" ]; then
    shift
    python=$(pick_python) || exit 1
    exec "$python" -m upgrade_check "$@"
fi
fast=0
pytest_args=()
for arg in "$@"; do
    case "$arg" in
        --fast) fast=1 ;;
        --update-inventory)
            ensure_venv || exit 1
            exec "$VENV/bin/python" -m gate.inventory
            ;;
        -h | --help)
            sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) pytest_args+=("$arg") ;;
    esac
done

ensure_venv || exit 1
export PATH="$VENV/bin:$PATH"
LOGS="$ROOT/build/test-logs"
mkdir -p "$LOGS"
mode=$([ "$fast" = 1 ] && echo fast || echo full)
# The tree under test (tools/deploy/stamp.py): a green run of the whole selection stamps it for ./sync_dags.sh.
# Whether pytest ran the whole selection is pytest's to say (tools/deploy/selection.py, loaded below): test
# arguments, PYTEST_ADDOPTS or the ini file's addopts narrowing the run all leave the tree unstamped.
tested_tree=$(python -m deploy.stamp tree 2>/dev/null) || tested_tree=""
export LAKEHOUSE_GATE_MODE="$mode" LAKEHOUSE_GATE_SELECTION="$LOGS/selection"
rm -f "$LAKEHOUSE_GATE_SELECTION"
# The modules of the DAG gate proper (pytest marker dag_gate) and their rank, written by gate.summary.
export LAKEHOUSE_DAG_GATE_RANKS="$LOGS/dag-gate-ranks"
: >"$LAKEHOUSE_DAG_GATE_RANKS"

failed=()
step() {
    local name=$1
    shift
    echo "== $name =="
    if "$@"; then
        summary+=("  ok      $name")
    else
        summary+=("  FAILED  $name")
        failed+=("$name")
    fi
}
summary=()

step "flake8" flake8 .
step "black --check" black --check .
step "ruff (Airflow rules)" ruff check --quiet --output-format concise --select AIR dags plugins tools tests
# Every file of the tree under test, committed with --no-verify or not (the pre-commit hook's scanner).
step "secret scan" python -m gate.secret_scan ${tested_tree:+"$tested_tree"}
if [ "$fast" = 1 ]; then
    marker=(-m "not slow")
    # A DAG file that does not import: only the DAG gate runs (tests/conftest.py), so the answer comes first.
    export LAKEHOUSE_STOP_ON_BROKEN_DAGS=1
else
    # Everything, on every core (pytest-xdist; LAKEHOUSE_TEST_WORKERS=0 runs it in this process), handed
    # out longest first (tests/conftest.py SLOWEST_FIRST).
    marker=(-n "${LAKEHOUSE_TEST_WORKERS:-auto}" --dist loadgroup --no-loadscope-reorder)
fi
step "pytest$([ "$fast" = 1 ] && echo " (fast: not slow)")" bash -c 'set -o pipefail; python -m pytest -q -rfE --continue-on-collection-errors "$@" 2>&1 | tee "'"$LOGS"'/pytest.log"' _ \
    -p deploy.selection -p gate.summary ${marker[@]+"${marker[@]}"} ${pytest_args[@]+"${pytest_args[@]}"}

echo
echo "== gate summary =="
printf '%s\n' ${summary[@]+"${summary[@]}"}
if [ "${#failed[@]}" -gt 0 ]; then
    # The DAG gate's own verdicts first (by the rank of its marker: load, inventory, then policy), then
    # collection errors, then the rest.
    problems=$(grep -E '^(FAILED|ERROR) ' "$LOGS/pytest.log" 2>/dev/null |
        awk -v ranks="$LAKEHOUSE_DAG_GATE_RANKS" '
            FILENAME == ranks {split($0, entry, "\t"); rank[entry[2]] = entry[1]; next}
            {module = $2; sub(/::.*/, "", module)}
            module in rank {print rank[module] "\t" $0; next}
            /^ERROR/ {print 100 "\t" $0; next} {print 101 "\t" $0}' "$LAKEHOUSE_DAG_GATE_RANKS" - |
        sort -s -k1,1n | cut -f2-)
    if [ -n "$problems" ]; then
        echo "$problems" | head -n 25 | sed 's/^/  /'
        count=$(echo "$problems" | wc -l)
        [ "$count" -gt 25 ] && echo "  ... and $((count - 25)) more"
    fi
    echo "Fix: black .  (formatting) | flake8 .  (lint) | full pytest output: build/test-logs/pytest.log"
    exit 1
fi
if [ -n "$tested_tree" ]; then
    python -m deploy.stamp write "$tested_tree" "$mode" "$LAKEHOUSE_GATE_SELECTION"
fi
echo "all green"
