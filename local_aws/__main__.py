"""`python -m local_aws DAG_ID [--date YYYY-MM-DD] [--fail]`: one DAG run on the local AWS (run_local.sh)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone

from gate.environment import prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_local.sh", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("dag_id")
    parser.add_argument(
        "--date", type=date.fromisoformat, default=date.today(), help="logical date (default: today)"
    )
    parser.add_argument(
        "--fail", action="store_true", help="make Redshift statements, EMR steps and Glue crawls fail"
    )
    args = parser.parse_args(argv)
    prepare()  # the Airflow home and plugins path, before airflow is imported

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request to the moto server

    from local_aws.harness import LocalAws
    from local_aws.run import ensure_metadata_db, load_dag, make_local

    logical_date = datetime(args.date.year, args.date.month, args.date.day, tzinfo=timezone.utc)
    try:
        dag = load_dag(args.dag_id)  # before the local AWS starts: a wrong id is told at once
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    make_local(dag)
    ensure_metadata_db()
    with LocalAws() as aws:
        aws.pending.failing = args.fail
        try:
            result = aws.run_dag(dag, logical_date)
        except ValueError as error:
            print(f"error: {error.args[0]}", file=sys.stderr)
            return 2
        print(f"\n== {result.summary()}")
        for number, sqls in enumerate(aws.redshift_statements(), start=1):
            print(f"  Redshift Data API call {number}: {len(sqls)} statement(s)")
        for step in aws.emr_steps():
            print(f"  EMR step {step['Name']}: {step['State']}")
        for query in aws.athena_queries():
            print(f"  Athena: {' '.join(query.split())[:100]}")
        for bucket in aws.seeded.buckets:
            print(f"  s3://{bucket}: {len(aws.object_keys(bucket))} object(s)")
        for alert in aws.alerts():
            print(f"  SNS alert: {alert.subject}")
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
