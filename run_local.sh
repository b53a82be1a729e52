#!/usr/bin/env bash
# Run DAGs end to end on this machine, against an in-process moto server instead of an AWS account.
#
#   ./run_local.sh DAG_ID [--date YYYY-MM-DD] [--manual] [--fail]
#   ./run_local.sh --all [--fail]
#
# A run is created as MWAA's scheduler creates it: an asset-scheduled DAG gets an asset-triggered run (no
# logical date, the asset events that triggered it), a timetable DAG its scheduled run (--date: of the
# interval starting that day; default: the sample's first incremental day), a DAG without a schedule a
# manual run without a logical date. --manual triggers by hand (with --date: that logical date). --all runs
# every DAG not scheduled on assets, then every DAG the emitted asset events trigger, until none is due.
# The local AWS is seeded from config/variables.json (buckets, sample data, Glue databases, the SNS topic,
# an EMR cluster, a Redshift cluster); Redshift statements, EMR steps and Glue crawls finish as on AWS
# (--fail: they fail, and the SNS failure alert shows). Exit status 0 = every run succeeded.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT" || exit 2
# shellcheck source=tools/venv.sh
source "$ROOT/tools/venv.sh"

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    printf 'DAGs:'
    for dag in "$ROOT"/dags/*__*.py; do
        [ -f "$dag" ] && dag=${dag##*/} && printf ' %s' "${dag%.py}"
    done
    echo
    [ $# -ge 1 ] && exit 0
    exit 2
fi

ensure_venv || exit 1
# A private Airflow home and metadata DB, never the user's own: local_aws makes it (tools/airflow_home.py).
exec "$VENV/bin/python" -m local_aws "$@"
