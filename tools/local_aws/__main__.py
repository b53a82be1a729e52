"""`python -m local_aws DAG_ID [--date YYYY-MM-DD] [--manual] [--fail]` or `--all`: runs on the local AWS."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timezone

from airflow_home import prepare, private


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_local.sh", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("dag_id", nargs="?")
    parser.add_argument(
        "--all", action="store_true", help="every DAG, chained by assets as the scheduler does"
    )
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        help="a timetable DAG: the scheduled run of the interval starting that day; with --manual or for "
        "another DAG: a manual run with that logical date",
    )
    parser.add_argument(
        "--manual", action="store_true", help="trigger by hand (no logical date without --date)"
    )
    parser.add_argument(
        "--fail", action="store_true", help="make Redshift statements, EMR steps and Glue crawls fail"
    )
    return parser


def choose_run(dag, args, aws):
    """The run to make: the DAG's normal trigger unless --manual or --date say otherwise."""
    from gate.run_contexts import is_asset_scheduled, manual_run, scheduled_run

    day = datetime(args.date.year, args.date.month, args.date.day, tzinfo=timezone.utc) if args.date else None
    if args.manual:
        return manual_run(dag, day)
    if day is not None:
        return (None if is_asset_scheduled(dag) else scheduled_run(dag, day)) or manual_run(dag, day)
    return aws.normal_run(dag)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.all) == bool(args.dag_id):
        parser.error("give one DAG_ID, or --all")
    prepare()  # the Airflow home and plugins path, before airflow is imported

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request to the moto server

    from local_aws.run import ensure_metadata_db, load_dag, load_dags, make_local

    try:
        dags = load_dags() if args.all else {args.dag_id: load_dag(args.dag_id)}  # a wrong id is told at once
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    for dag in dags.values():
        make_local(dag)
    ensure_metadata_db()
    from local_aws.harness import LocalAws

    with LocalAws() as aws:
        aws.pending.failing = args.fail
        if args.all:
            return _run_all(aws, dags)
        dag = dags[args.dag_id]
        try:
            result = aws.run_dag(dag, choose_run(dag, args, aws))
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


def _run_all(aws, dags) -> int:
    from local_aws.lake import run_all, table

    start = time.perf_counter()
    runs = run_all(aws, dags)
    print(f"\n== every DAG as the scheduler runs it ({len(runs)} runs, {time.perf_counter() - start:.1f} s)")
    print(table(runs))
    for alert in aws.alerts():
        print(f"  SNS alert: {alert.subject}")
    return 0 if all(lake_run.result.succeeded for lake_run in runs) else 1


if __name__ == "__main__":
    private()  # ./run_local.sh: never the user's own Airflow home (tests call main() in their own)
    sys.exit(main())
