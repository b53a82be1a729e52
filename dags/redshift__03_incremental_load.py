"""
### Daily incremental load of TICKIT listings and sales into Redshift

Each run loads its data interval: the extract of the day the interval starts, under
`raw/tickit_incremental/<table>/ds=<day>/` (new listings and sales of that day plus changed earlier
rows), through the same COPY -> staging -> merge -> check task group as the initial load. The merge
replaces rows by key, so a changed row carries its new values and a rerun of a day changes nothing. The
check also fails when the extract holds rows dated after the interval (a wrong or misplaced file).

**Schedule.** Daily data intervals (`CronDataIntervalTimetable`, UTC midnight to midnight): the run for a
day starts once that day is over. (A plain `"@daily"` would, in Airflow 3, give zero-length intervals
dated at the start of the run's own day, whose extract does not exist yet.) A manual run needs a
logical date L: its interval is then [L - 1 day, L), and it loads what the scheduled run of that
interval loads. A run without one (no data interval) fails at once, saying so.

**Ordering.** No catchup; on success it updates the asset
`redshift_tickit_loaded`, which schedules the UNLOAD (`redshift__04_unload_sales_by_category`), exactly as
the initial load does.

Variables: `lakehouse_bucket`, `redshift_iam_role_arn`, `redshift_cluster_id`, `redshift_database`,
`redshift_db_user`.
"""

from pathlib import Path

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from lakehouse import layout
from lakehouse.assets import TICKIT_LOADED
from lakehouse.defaults import dag_settings
from lakehouse.redshift import INTERVAL_DAY, copy_merge_check_group, redshift_check
from lakehouse.redshift_tables import SPEC, load_spec

TICKIT = load_spec(Path(__file__).parent / SPEC)

with DAG(
    dag_id="redshift__03_incremental_load",
    description="Load the day's new and changed TICKIT listings and sales into Redshift and merge them.",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    tags=["tickit", "redshift", "load"],
    params={"schema": TICKIT.schema},
    **dag_settings(),
):
    tables = [
        copy_merge_check_group(
            table, layout.incremental_prefix(table.name, INTERVAL_DAY), event_time=table.event_time
        )
        for table in TICKIT.incremental
    ]
    tables >> redshift_check("check_references", "redshift/checks/references.sql", outlets=[TICKIT_LOADED])
