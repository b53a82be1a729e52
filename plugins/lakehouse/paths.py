"""Where the SQL lives, locally and on MWAA.

The bundle puts `sql/` beside the DAG files (`dags/sql/` in the bucket, `/usr/local/airflow/dags/sql` on the
workers). In the repository it sits at the root, one level above `dags/`. Both are tried, MWAA's first.
"""

from __future__ import annotations

from pathlib import Path


def sql_folder(dag_file: str) -> Path:
    """The `sql/` folder for the DAG file at `dag_file` (pass `__file__`)."""
    dags_folder = Path(dag_file).resolve().parent
    for candidate in (dags_folder / "sql", dags_folder.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"{dag_file}: no sql/ folder at {dags_folder / 'sql'} (MWAA bundle) or {dags_folder.parent / 'sql'} "
        "(repository). Fix: sync with ./sync_dags.sh, which ships sql/ under the dags prefix."
    )
