"""What the local Athena answers to the DAGs' check queries, computed from the TICKIT sample in the bucket.

moto runs no SQL, and the non-empty checks (lakehouse.catalog.AthenaNonEmptyCheckOperator) fail on an
empty answer. For each check query of the repository, this is the count Athena would return over tables
built from the sample: e.g. the gold table sales_by_category has one row per category with sales.
A run of a DAG with a check query not listed here is refused before it starts (`unanswered`): moto's empty
answer would fail the check as "the table it reads is empty", which is not the cause.
"""

from __future__ import annotations

from pathlib import Path

import repository
from local_aws import expected
from local_aws.moto_gaps import output_columns


def categories_with_sales(sample) -> int:
    catid_of_event = {event[0]: event[2] for event in sample.initial["event"]}
    names = {category[0]: (category[1], category[2]) for category in sample.initial["category"]}
    return len({names[catid_of_event[sale[4]]] for sale in sample.initial["sales"]})


def days_with_sales(sample) -> int:
    return len({sale[5] for sale in sample.initial["sales"]})


# (query file under sql/, the task's params.table or None) -> the count over the sample
COUNTS = {
    ("athena/sales_by_category_check.sql", None): categories_with_sales,
    ("athena/checks/row_count.sql", "sales_by_category"): categories_with_sales,
    ("athena/checks/row_count.sql", "sales_by_date"): days_with_sales,
}


def answers(dag, run, variables: dict[str, str], sample) -> dict[str, list[list[str]]]:
    """{rendered query: rows (column names first)} for every check query of `dag` that COUNTS knows."""
    from airflow.providers.amazon.aws.operators.athena import AthenaOperator

    found = {}
    for task in dag.tasks:
        if not isinstance(task, AthenaOperator):
            continue
        table = task.params.dump().get("table")
        # The DagBag has already replaced a .sql path by the file's text (template_ext).
        count = next(
            (
                count
                for (path, for_table), count in COUNTS.items()
                if for_table == table and task.query in (path, _text(dag, path))
            ),
            None,
        )
        if count is None:
            continue
        query = expected.render(dag, task, task.query, run, variables)
        columns = output_columns(query, dialect="trino") or ["count"]
        found[query] = [columns[:1], [str(count(sample))]]
    return found


def _text(dag, path: str) -> str | None:
    for folder in dag.template_searchpath or []:
        candidate = Path(folder) / path
        if candidate.is_file():
            return candidate.read_text()
    return None


def unanswered(dag, run, variables: dict[str, str], answers: dict[str, list[list[str]]]) -> list[str]:
    """One line per non-empty check of `dag` whose rendered query `answers` lacks, naming the fix."""
    from gate.rules import shown_path
    from gate.template_files import file_of
    from lakehouse.catalog import AthenaNonEmptyCheckOperator

    problems = []
    for task in dag.tasks:
        if not isinstance(task, AthenaNonEmptyCheckOperator):
            continue
        if expected.render(dag, task, task.query, run, variables) in answers:
            continue
        table = task.params.dump().get("table")
        path = file_of(dag.get_template_env(), task.query)
        where = (shown_path(path) if path else "inline SQL") + (f", table '{table}'" if table else "")
        entry = f'"{path.relative_to(repository.SQL).as_posix() if path else "<the query text>"}", ' + (
            f'"{table}"' if table else "None"
        )
        problems.append(
            f"{dag.dag_id}: the local Athena has no answer for the check '{task.task_id}' ({where}): moto "
            f"runs no SQL, so the check would read no row and fail. Fix: add ({entry}): <the count over the "
            "sample> to COUNTS in tools/local_aws/athena_answers.py."
        )
    return problems
