#!/usr/bin/env bash
# Sync the tested bundle to the MWAA bucket: only what changed, only a tree that passed ./run_tests.sh.
#
#   ./sync_dags.sh                              gate + sync to build/mwaa-bucket/ (laid out as the bucket)
#   ./sync_dags.sh --target s3://BUCKET[/PREFIX] [--environment NAME [--no-wait] [--wait-minutes N]]
#   ./sync_dags.sh --dry-run                    print the plan, change nothing
#   ./sync_dags.sh --allow-dirty                sync uncommitted changes (the tests still gate them)
#   ./sync_dags.sh --skip-gate-run              refuse instead of running ./run_tests.sh --fast here
#   ./sync_dags.sh --allow-mass-delete          let one sync delete more than half of the DAG files
# Exit codes: 0 synced or nothing to do, 1 failed (or another sync holds the target), 2 bad usage,
# 3 refused by the gate or the mass-delete guard.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT" || exit 2
# shellcheck source=tools/venv.sh
source "$ROOT/tools/venv.sh"

ensure_venv || exit 1
exec "$VENV/bin/python" -m deploy.cli --repo "$ROOT" "$@"
