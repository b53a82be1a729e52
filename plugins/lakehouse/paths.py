"""Where the SQL lives, locally and on MWAA: found from the DAG folder Airflow is configured with.

The bundle puts `sql/` beside the DAG files (`dags/sql/` in the bucket, `/usr/local/airflow/dags/sql` on the
workers). In the repository it sits at the root, one level above `dags/`. Both are tried, MWAA's first.
Reading Airflow's `[core] dags_folder` (rather than the calling DAG file's folder) gives every DAG the same
search path, also DAG files kept outside that folder, such as the gate's corpus of bad DAGs.
"""

from __future__ import annotations

from pathlib import Path

from airflow.configuration import conf


def configured_dags_folder() -> Path:
    return Path(conf.get("core", "dags_folder")).expanduser().resolve()


def sql_folder(dags_folder: Path | None = None) -> Path:
    """The `sql/` folder for the DAGs of `dags_folder` (default: Airflow's `[core] dags_folder`)."""
    dags_folder = dags_folder or configured_dags_folder()
    for candidate in (dags_folder / "sql", dags_folder.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"{dags_folder}: no sql/ folder at {dags_folder / 'sql'} (MWAA bundle) or "
        f"{dags_folder.parent / 'sql'} (repository). "
        "Fix: sync with ./sync_dags.sh, which ships sql/ under the dags prefix."
    )
