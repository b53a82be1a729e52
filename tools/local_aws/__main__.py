"""`python -m local_aws DAG_ID [--date YYYY-MM-DD] [--manual] [--fail]` or `--all`: runs on the local AWS."""

from __future__ import annotations

import argparse
import gc
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

    from gate.rules import shown_path
    from local_aws import report
    from local_aws.run import ensure_metadata_db, load_dag, load_dags, make_local

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request to the moto server
    logging.getLogger("airflow.models.dagbag.DagBag").setLevel(logging.WARNING)  # "Filling up the DagBag"
    log = report.log_file("all" if args.all else args.dag_id)
    try:
        # Loading imports Airflow, which may write to the terminal (3.3: its task SDK logs that it loaded the
        # test configuration): that goes to the full log, with the rest of Airflow's output.
        with report.output_to(log):
            dags = load_dags() if args.all else {args.dag_id: load_dag(args.dag_id)}  # a wrong id: at once
    except KeyError as error:
        log.unlink(missing_ok=True)
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    colour = sys.stdout.isatty()
    print(f"full log: {shown_path(log)}", flush=True)
    with report.output_to(log) as (out, err):
        for dag in dags.values():
            make_local(dag)
        ensure_metadata_db()
        from local_aws.harness import LocalAws

        with LocalAws() as aws:
            aws.pending.failing = args.fail
            if args.all:
                return _run_all(aws, dags, out, err, log)
            dag = dags[args.dag_id]
            try:
                run = choose_run(dag, args, aws)
                print(f"{dag.dag_id}: {run.describe()}", file=out, flush=True)
                result = aws.run_dag(dag, run)
            except ValueError as error:
                print(f"error: {error.args[0]}", file=err)
                return 2
            calls = report.calls_by_task(
                dag, run, aws.variables, aws.redshift_statements(), aws.athena_queries()
            )
            lines = report.task_lines(result, calls, colour)
            state = report.coloured(result.state, 0, colour)
            print("\n".join(lines), file=out)
            print(report.run_line(dag.dag_id, state, result.seconds, len(result.task_runs)), file=out)
            for step in aws.emr_steps():
                print(f"  EMR step {step['Name']}: {step['State']}", file=out)
            for bucket in aws.seeded.buckets:
                print(f"  s3://{bucket}: {len(aws.object_keys(bucket))} object(s)", file=out)
            for alert in aws.alerts():
                print(f"  SNS alert: {alert.subject}", file=out)
            print(f"full log: {shown_path(log)}", file=out)
    return 0 if result.succeeded else 1


def _run_all(aws, dags, out, err, log) -> int:
    from gate.rules import shown_path
    from local_aws.lake import run_all, table

    start = time.perf_counter()
    try:
        runs = run_all(aws, dags)
    except ValueError as error:  # a run the local AWS refuses (local_aws.harness.LocalAws.run_dag)
        print(f"error: {error.args[0]}", file=err)
        return 2
    print(
        f"== every DAG as the scheduler runs it ({len(runs)} runs, {time.perf_counter() - start:.1f} s)",
        file=out,
    )
    print(table(runs), file=out)
    for alert in aws.alerts():
        print(f"  SNS alert: {alert.subject}", file=out)
    print(f"full log: {shown_path(log)}", file=out)
    return 0 if all(lake_run.result.succeeded for lake_run in runs) else 1


if __name__ == "__main__":
    private()  # ./run_local.sh: never the user's own Airflow home (tests call main() in their own)
    status = main()
    # No last walk of the garbage collector over Airflow's and moto's objects on the way out. Measured:
    # ./run_local.sh redshift__01_create_tables 13.8 s -> 10.5 s (medians of 4).
    gc.freeze()
    sys.exit(status)
