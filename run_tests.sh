#!/usr/bin/env bash
# The gate: flake8, black --check, the secret scan and pytest, in the pinned MWAA environment (.venv, built on
# first use).
#
#   ./run_tests.sh                     everything (what CI runs)
#   ./run_tests.sh --fast              the pre-push path: skips suites marked slow (PostgreSQL, end to end);
#                                      after a green run, a change to DAGs, their SQL or specs only tests
#                                      those DAGs (as --dag does); --fast --all tests everything
#   ./run_tests.sh --update-inventory  rewrite tools/gate/inventory.json from the DAGs that load, then exit
#   ./run_tests.sh [--fast] ARGS...    ARGS go to pytest (e.g. -k redshift, tests/dags); never stamped
#   ./run_tests.sh [--fast] --dag ID   only that DAG (repeatable): its file linted and parsed, its policy,
#                                      render, SQL and local-run tests; never stamped
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
invoked="./run_tests.sh $*" # for the run lock below, before the arguments are parsed away
fast=0
all=0
pytest_args=()
dags=()
dag_ids="" # the same, as one string for messages
while [ $# -gt 0 ]; do
    case "$1" in
        --fast) fast=1 ;;
        --all) all=1 ;;
        --dag=*) dags+=("${1#--dag=}") && dag_ids="$dag_ids ${1#--dag=}" ;;
        --dag)
            [ $# -ge 2 ] || { echo "error: --dag needs a DAG id, e.g. ./run_tests.sh --dag redshift__01_create_tables" >&2; exit 2; }
            dags+=("$2") && dag_ids="$dag_ids $2"
            shift
            ;;
        --upgrade-check)
            echo "error: --upgrade-check runs alone and comes first, e.g. ./run_tests.sh --upgrade-check 3.3.1" >&2
            exit 2
            ;;
        --update-inventory)
            ensure_venv || exit 1
            exec "$VENV/bin/python" -m gate.inventory
            ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) pytest_args+=("$1") ;;
    esac
    shift
done

if [ "$all" = 1 ] && [ "${#dags[@]}" -gt 0 ]; then
    echo "error: --all tests everything and --dag only the DAGs named; give one of them" >&2
    exit 2
fi
ensure_venv || exit 1
export PATH="$VENV/bin:$PATH"
# One gate run per checkout: two at once would share build/test-logs (the selection report the stamp trusts,
# the outcomes the summary reads) and the green-run stamp. The lock is a symlink whose target names the holder
# (created atomically, on macOS too); the OS does not drop it, so a holder that is gone counts as no holder.
RUN_LOCK="build/test-gate/running"
gate_run_alive() { # gate_run_alive PID: that process runs this script (kill -0 alone where ps cannot tell)
    local command
    kill -0 "$1" 2>/dev/null || return 1
    command=$(ps -p "$1" -o command= 2>/dev/null) || return 0 # no ps, or one without these options
    case "$command" in *run_tests.sh*) return 0 ;; *) return 1 ;; esac
}
mkdir -p "$ROOT/build/test-gate"
tries=0
while :; do
    if [ -e "$RUN_LOCK" ] && [ ! -L "$RUN_LOCK" ]; then # ln would put its link inside a folder there
        why="a file or folder that is no lock is in its place"
    elif why=$(ln -sn "$$ since $(date '+%H:%M:%S'): ${invoked:0:200}" "$RUN_LOCK" 2>&1); then
        break
    elif holder=$(readlink "$RUN_LOCK" 2>/dev/null); then
        if gate_run_alive "${holder%% *}"; then
            echo "error: another gate run is using this checkout (pid $holder); two would mix their logs and" \
                "the green-run stamp. Fix: wait for it to end, or stop it: kill ${holder%% *}" >&2
            exit 2
        fi
        echo "== a gate run that is gone left its lock (pid $holder): taken over ==" >&2
        rm -f "$RUN_LOCK"
        continue
    else
        tries=$((tries + 1))
        [ "$tries" -lt 3 ] && continue # released meanwhile: try again
        why=${why#ln: }
    fi
    echo "error: the gate cannot take its lock $RUN_LOCK ($why). Fix: rm -rf $RUN_LOCK (nothing else" \
        "belongs there) or make build/test-gate writable, then rerun" >&2
    exit 2
done
trap 'rm -f "$ROOT/$RUN_LOCK"' EXIT
LOGS="$ROOT/build/test-logs"
mkdir -p "$LOGS"
mode=$([ "$fast" = 1 ] && echo fast || echo full)
# The tree under test (tools/deploy/stamp.py): a green run of the whole selection stamps it for ./sync_dags.sh.
# Whether pytest ran the whole selection is pytest's to say (tools/deploy/selection.py, loaded below): test
# arguments, PYTEST_ADDOPTS or the ini file's addopts narrowing the run all leave the tree unstamped.
tested_tree=""
if [ "${#dags[@]}" -eq 0 ]; then
    tested_tree=$(python -m deploy.stamp tree 2>/dev/null) || tested_tree=""
fi
scanned_tree=$tested_tree
# --fast after a green run: when only DAG files and the SQL and specs they read changed since that run's tree,
# only those DAGs are tested, as with --dag, and nothing is stamped (gate.affected, like the pre-push hook).
# A checkout with no green run (a fresh clone, the pre-push hook's) has nothing to choose from: everything, quietly.
green_run="build/test-gate/passed-tree" # deploy.stamp.STAMP_FILE
if [ "$fast" = 1 ] && [ "$all" = 0 ] && [ -n "$tested_tree" ] && [ "${#pytest_args[@]}" -eq 0 ] && [ -f "$green_run" ]; then
    if since=$(python -m gate.affected --since-green "$tested_tree" 2>"$LOGS/since-green"); then
        for dag in $since; do dags+=("$dag") && dag_ids="$dag_ids $dag"; done
        echo "== --fast: $(cat "$LOGS/since-green"): testing only the DAGs it affects (everything: ./run_tests.sh --fast --all) =="
        tested_tree=""
    elif [ $? -eq 3 ]; then
        echo "== --fast: testing everything: $(cat "$LOGS/since-green") =="
    else
        echo "== --fast: testing everything: python -m gate.affected failed (build/test-logs/since-green) =="
    fi
fi
# What flake8 and black read, and the suites pytest collects: everything, or with --dag the DAGs' files and
# the suites of per-DAG tests (tests/conftest.py keeps those of the chosen DAGs).
lint_paths=(.)
ruff_paths=(dags plugins tools tests)
suites=()
if [ "${#dags[@]}" -gt 0 ]; then
    dag_files=$(python -m gate.inventory --check-ids ${dags[@]+"${dags[@]}"}) || exit 2
    # shellcheck disable=SC2206  # one repository-relative path per line, no spaces (dags/<dag_id>.py)
    lint_paths=($dag_files)
    # shellcheck disable=SC2206  # the same paths
    ruff_paths=($dag_files)
    suites=(tests/dags tests/sql/test_sql_parses.py)
    # Its local runs are all slow: with --fast, importing the local AWS for nothing would cost a second.
    [ "$fast" = 1 ] || suites+=(tests/e2e/test_dag_runs.py)
    export LAKEHOUSE_GATE_DAGS="${dag_ids# }"
    echo "== only the DAGs${dag_ids} ($(echo "$dag_files" | tr '\n' ' ' | sed 's/ $//')) =="
fi
export LAKEHOUSE_GATE_MODE="$mode" LAKEHOUSE_GATE_SELECTION="$LOGS/selection"
rm -f "$LAKEHOUSE_GATE_SELECTION"
# Every real test outcome, for the summary below (tools/gate/summary.py, loaded with -p).
export LAKEHOUSE_GATE_OUTCOMES="$LOGS/outcomes.json"
rm -f "$LAKEHOUSE_GATE_OUTCOMES"

failed=()
summary=()
record() { # record NAME STATUS: the step's line in the summary
    if [ "$2" = 0 ]; then
        summary+=("  ok      $1")
    else
        summary+=("  FAILED  $1")
        failed+=("$1")
    fi
}
# The checks that only read files run beside pytest: started here, shown after pytest's output in this order,
# and listed in the summary before it.
side_names=()
side_logs=()
side_pids=()
side_step() { # side_step NAME LOG COMMAND...
    local name=$1 log=$2
    shift 2
    "$@" >"$LOGS/$log" 2>&1 &
    side_pids+=($!)
    side_names+=("$name")
    side_logs+=("$log")
}
side_steps_done() {
    local i=0 status
    while [ "$i" -lt "${#side_pids[@]}" ]; do
        wait "${side_pids[$i]}"
        status=$?
        echo "== ${side_names[$i]} =="
        cat "$LOGS/${side_logs[$i]}"
        record "${side_names[$i]}" "$status"
        i=$((i + 1))
    done
}

# flake8 and black skip files whose exact content passed them before, in any checkout (tools/gate/lint.py).
side_step "flake8" flake8.log python -m gate.lint flake8 ${lint_paths[@]+"${lint_paths[@]}"}
side_step "black --check" black.log python -m gate.lint black --check ${lint_paths[@]+"${lint_paths[@]}"}
side_step "ruff (Airflow rules)" ruff.log ruff check --quiet --output-format concise --select AIR ${ruff_paths[@]+"${ruff_paths[@]}"}
# Every file of the tree under test, committed with --no-verify or not (the pre-commit hook's scanner).
side_step "secret scan" secret-scan.log python -m gate.secret_scan ${scanned_tree:+"$scanned_tree"}
marker=()
if [ "$fast" = 1 ]; then
    marker=(-m "not slow")
    # A DAG file that does not import: only the DAG gate runs (tests/conftest.py), so the answer comes first.
    export LAKEHOUSE_STOP_ON_BROKEN_DAGS=1
fi
# Everything, on every core (pytest-xdist; LAKEHOUSE_TEST_WORKERS=0 runs it in this process), handed out
# longest first (tests/conftest.py SLOWEST_FIRST). A few DAGs, or a --fast run narrowed by ARGS: one process
# (starting the workers, each importing Airflow and parsing the DAGs, would cost more than it saves).
if [ "${#dags[@]}" -eq 0 ] && { [ "$fast" = 0 ] || [ "${#pytest_args[@]}" -eq 0 ]; }; then
    marker+=(-n "${LAKEHOUSE_TEST_WORKERS:-auto}" --dist loadgroup --no-loadscope-reorder)
fi
pytest_step="pytest$([ "$fast" = 1 ] && echo " (fast: not slow)")"
echo "== $pytest_step =="
python -m pytest -q -rfE --continue-on-collection-errors -p deploy.selection -p gate.summary \
    ${marker[@]+"${marker[@]}"} ${suites[@]+"${suites[@]}"} ${pytest_args[@]+"${pytest_args[@]}"} 2>&1 |
    tee "$LOGS/pytest.log"
pytest_status=${PIPESTATUS[0]}
side_steps_done
record "$pytest_step" "$pytest_status"

echo
echo "== gate summary =="
printf '%s\n' ${summary[@]+"${summary[@]}"}
printf '%s\n' ${summary[@]+"${summary[@]}"} >"$LOGS/gate-steps" # for tools/gate/github_report.py
if [ "${#failed[@]}" -gt 0 ]; then
    # One line per root cause (DAG files that do not import, DAG rules, the rest) and a fix per failed step.
    python -m gate.summary "build/test-logs" ${failed[@]+"${failed[@]}"}
    exit 1
fi
if [ -n "$tested_tree" ]; then
    python -m deploy.stamp write "$tested_tree" "$mode" "$LAKEHOUSE_GATE_SELECTION"
fi
if [ "${#dags[@]}" -gt 0 ]; then
    echo "all green for${dag_ids} (a run of chosen DAGs is never stamped for ./sync_dags.sh)"
else
    echo "all green"
fi
