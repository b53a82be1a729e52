"""gate.rules: fix texts read their numbers from policy.toml; import errors declare their own rule."""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import traceback
import zipfile
from pathlib import Path

import pytest

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

import gate.rules
from gate.rules import RULES_BY_NAME, check, classify_import_error, import_error_message
from lakehouse.hudi import TableSpecError


class DeclaringError(ValueError):
    gate_rule = "example-rule"
    gate_fix = "do the example fix"


def _traceback_text(error: BaseException) -> str:
    try:
        raise error
    except BaseException as raised:
        return "".join(traceback.format_exception(raised))


def _dag_with_task(**task_args) -> DAG:
    with DAG("redshift__example", schedule=None, description="An example DAG for the rules.") as dag:
        EmptyOperator(task_id="step", **task_args)
    return dag


def test_retries_fix_names_the_range_of_the_policy(policy):
    narrow = dataclasses.replace(policy, min_retries=1, max_retries=4)
    message = check(_dag_with_task(retries=7), RULES_BY_NAME["retries"], None, narrow)
    assert message.endswith("Fix: set retries 1..4 (lakehouse.defaults.DEFAULT_ARGS does).")
    assert "outside 1..4" in message


def test_retries_at_the_policy_limits_pass_and_one_past_fails(policy):
    rule = RULES_BY_NAME["retries"]
    assert check(_dag_with_task(retries=policy.max_retries), rule, None, policy) is None
    assert check(_dag_with_task(retries=policy.min_retries), rule, None, policy) is None
    assert check(_dag_with_task(retries=policy.max_retries + 1), rule, None, policy)
    assert check(_dag_with_task(retries=policy.min_retries - 1), rule, None, policy)


def test_retries_none_counts_as_no_retry(policy):
    """Airflow 3.0's SDK operator keeps `retries=None` as given; the task then runs once, never retried."""
    rule = RULES_BY_NAME["retries"]
    assert (
        check(
            _dag_with_task(retries=None),
            rule,
            None,
            dataclasses.replace(policy, min_retries=0, max_retries=0),
        )
        is None
    )
    assert check(_dag_with_task(retries=None), rule, None, dataclasses.replace(policy, min_retries=1))


def test_description_fix_names_the_minimum_of_the_policy(policy):
    longer = dataclasses.replace(policy, min_description_chars=80)
    message = check(_dag_with_task(), RULES_BY_NAME["description"], None, longer)
    assert message.endswith("Fix: give the DAG a description of at least 80 characters.")


def test_an_error_class_declares_its_own_rule_and_fix():
    text = _traceback_text(DeclaringError("the spec is wrong"))
    assert classify_import_error(text) == ("example-rule", "do the example fix")


def test_the_hudi_table_spec_error_is_classified_by_its_declaration():
    text = _traceback_text(TableSpecError("dags/hudi/tables.yaml: table 'artists', field 'type': bad"))
    assert classify_import_error(text) == (TableSpecError.gate_rule, TableSpecError.gate_fix)


def test_an_error_without_a_declaration_falls_back_to_the_patterns():
    assert classify_import_error(_traceback_text(ModuleNotFoundError("No module named 'x'")))[0] == "import"
    assert classify_import_error(_traceback_text(ValueError("boom")))[0] == "import-error"


def test_a_text_naming_a_module_that_does_not_import_is_not_a_declaration():
    text = "Traceback (most recent call last):\nno_such_package.module.SomeError: boom\n"
    assert classify_import_error(text)[0] == "import-error"


def test_a_declaring_class_is_found_past_a_later_one_whose_module_does_not_import():
    """A chained traceback: the spec error, then one raised while handling it, from a module not importable
    here."""
    declared = _traceback_text(TableSpecError("dags/hudi/tables.yaml: table 'artists', field 'type': bad"))
    during = "During handling of the above exception, another exception occurred:"
    text = f"{declared}\n{during}\n\nno_such_package.Boom: x\n"

    assert classify_import_error(text) == (TableSpecError.gate_rule, TableSpecError.gate_fix)


def test_the_gate_names_no_plugin_class():
    source = Path(gate.rules.__file__).read_text()
    assert "TableSpecError" not in source and "lakehouse.hudi" not in source


@pytest.mark.slow
def test_the_import_error_hint_is_a_command_that_works_as_printed(tmp_path, repo_root):
    """`run the file with python` failed with No module named 'lakehouse'; the hint now runs the file in the
    venv with the repository's import roots and shows the file's own exception."""
    broken = tmp_path / "redshift__99_broken.py"
    broken.write_text(
        "from lakehouse.defaults import dag_settings  # noqa: F401\n\nraise RuntimeError('boom')\n"
    )
    text = "Traceback (most recent call last):\nRuntimeError: boom\n"

    message = import_error_message(broken, text)
    command = message.splitlines()[0].split("Fix: run the file to see the exception: ", 1)[1].rstrip(".")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AIRFLOW_HOME")}
    env["AIRFLOW_HOME"] = str(tmp_path / "home")
    done = subprocess.run(shlex.split(command), cwd=repo_root, env=env, capture_output=True, text=True)

    assert message.startswith(f"import-error: {broken} does not load: RuntimeError: boom. Fix: ")
    assert command == f"tools/venv.sh python {broken}"
    assert done.stderr.strip().splitlines()[-1] == "RuntimeError: boom", done.stderr


CLOCK_DAG_WITH_A_TASK_FUNCTION = '''"""A DAG whose start date comes from the clock, beside a task function."""
import pendulum
from airflow.sdk import DAG, task

from lakehouse.defaults import dag_settings

START = pendulum.now("UTC").subtract(days=3)

with DAG(
    dag_id="redshift__99_clock_start",
    description="A DAG whose start date comes from the clock.",
    doc_md=__doc__,
    schedule=None,
    tags=["tickit"],
    **{**dag_settings(), "start_date": START},
):

    @task
    def report():
        return pendulum.now("UTC").isoformat()  # at run time: fine

    report()
'''


def test_a_clock_start_date_is_found_past_a_function_of_the_file(tmp_path, policy):
    """The scan skips what functions do at run time, and goes on with the rest of the module."""
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "redshift__99_clock_start.py").write_text(CLOCK_DAG_WITH_A_TASK_FUNCTION)
    loaded = load(tmp_path / "dags")
    dag = loaded.dags["redshift__99_clock_start"]

    message = check(dag, RULES_BY_NAME["fixed-start-date"], loaded, policy)

    assert message is not None and "module-level code reads the clock at lines [7]" in message, message


SLOW_THEN_BROKEN_DAG = """\"\"\"An Airflow DAG file that works a while at module level, then fails.\"\"\"
import time

_started = time.thread_time()
while time.thread_time() - _started < {seconds}:  # slow module-level work, then a failure
    pass
raise ValueError("the spec names a column the DDL lacks")
"""


def test_a_file_that_fails_to_import_is_judged_by_its_error_not_its_parse_time(tmp_path, policy):
    """Its parse time includes the failure's traceback; the import error is the one cause to report."""
    from gate.loader import load
    from gate.rules import violations

    (tmp_path / "dags").mkdir()
    seconds = policy.parse_budget_seconds + 0.2
    (tmp_path / "dags" / "redshift__99_slow_and_broken.py").write_text(
        SLOW_THEN_BROKEN_DAG.format(seconds=seconds)
    )
    loaded = load(tmp_path / "dags")
    (path,) = loaded.parse_seconds
    assert loaded.parse_seconds[path] > policy.parse_budget_seconds  # over the budget, yet not reported

    found = [(rule, path.name) for rule, path, _ in violations(loaded, policy)]

    assert found == [("import-error", "redshift__99_slow_and_broken.py")]


def test_a_zipped_dag_is_checked_for_a_clock_start_date_without_reading_its_file(tmp_path, policy):
    """Airflow parses DAG files packaged in a .zip; their fileloc (x.zip/dag.py) is not a readable file."""
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    fixed = CLOCK_DAG_WITH_A_TASK_FUNCTION.replace(
        'pendulum.now("UTC").subtract(days=3)', "pendulum.datetime(2024, 1, 1)"
    )
    with zipfile.ZipFile(tmp_path / "dags" / "packaged.zip", "w") as packaged:
        packaged.writestr("redshift__99_clock_start.py", fixed)
    loaded = load(tmp_path / "dags")
    dag = loaded.dags["redshift__99_clock_start"]
    assert dag.fileloc.endswith("packaged.zip/redshift__99_clock_start.py"), dag.fileloc

    assert check(dag, RULES_BY_NAME["fixed-start-date"], loaded, policy) is None


@pytest.mark.parametrize("rule", ["fixed-start-date", "airflow-3-imports"])
def test_a_dag_file_edited_into_a_syntax_error_after_its_parse_does_not_crash_a_rule_reading_it(
    tmp_path, policy, rule
):
    """A rule that reads the file again (module-level clock calls, Airflow 2 imports) finds it changed while
    the gate runs; the run that parses the new text reports it."""
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    dag_file = tmp_path / "dags" / "redshift__99_clock_start.py"
    dag_file.write_text(
        CLOCK_DAG_WITH_A_TASK_FUNCTION.replace(
            'pendulum.now("UTC").subtract(days=3)', "pendulum.datetime(2024, 1, 1)"
        )
    )
    loaded = load(tmp_path / "dags")
    dag_file.write_text('from airflow.operators.empty import (\nSTART = pendulum.now("UTC"\n')

    assert check(loaded.dags["redshift__99_clock_start"], RULES_BY_NAME[rule], loaded, policy) is None


def test_a_dag_file_in_a_declared_encoding_is_read_as_python_reads_it(tmp_path, policy):
    """Python honours a `coding` line; a rule reading the file again must too (not fail on its first byte)."""
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    source = "# -*- coding: latin-1 -*-\n" + CLOCK_DAG_WITH_A_TASK_FUNCTION.replace(
        "import pendulum\n",
        "import pendulum\nfrom airflow.operators.empty import EmptyOperator  # noqa: F401\n",
    ).replace("beside a task function", "beside a task function, caf\xe9")
    (tmp_path / "dags" / "redshift__99_clock_start.py").write_bytes(source.encode("latin-1"))
    lines = source.splitlines()
    clock_line = 1 + next(n for n, line in enumerate(lines) if line.startswith("START = pendulum.now"))
    import_line = 1 + lines.index("from airflow.operators.empty import EmptyOperator  # noqa: F401")
    loaded = load(tmp_path / "dags")
    dag = loaded.dags["redshift__99_clock_start"]

    clock = check(dag, RULES_BY_NAME["fixed-start-date"], loaded, policy)
    imports = check(dag, RULES_BY_NAME["airflow-3-imports"], loaded, policy)

    assert clock is not None and f"module-level code reads the clock at lines [{clock_line}]" in clock, clock
    assert imports is not None and f"line {import_line}: airflow.operators.empty (use " in imports, imports


FIVE_BAD_TEMPLATES_DAG = '''"""An Airflow DAG whose five tasks each render a template that fails."""
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(dag_id="redshift__99_five_bad_templates", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    for n in range(1, 6):
        BashOperator(task_id=f"step_{n}", bash_command="echo {{ params.missing_" + str(n) + ".value }}")
'''


def test_a_dag_with_many_render_problems_shows_the_first_and_three_more_and_counts_the_rest(tmp_path, policy):
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "redshift__99_five_bad_templates.py").write_text(FIVE_BAD_TEMPLATES_DAG)
    loaded = load(tmp_path / "dags")
    dag = loaded.dags["redshift__99_five_bad_templates"]
    problems = loaded.render_problems(dag)
    assert len(problems) == 10, problems  # five tasks, in two run contexts each

    message = check(dag, RULES_BY_NAME["templates-render"], loaded, policy)

    assert f": {problems[0]} (and 9 more: {'; '.join(problems[1:4])}). Fix: " in message, message
    assert problems[4] not in message


def test_a_parse_exactly_at_the_budget_passes_and_just_past_it_fails(policy):
    path = Path("dags/redshift__example.py")
    budget = policy.parse_budget_seconds

    assert gate.rules.parse_budget_message(path, budget, policy) is None
    message = gate.rules.parse_budget_message(path, budget + 0.01, policy)
    assert message is not None and message.startswith(
        f"parse-budget: dags/redshift__example.py took {budget + 0.01:.2f} s"
    )


@pytest.mark.parametrize("dag_id", ["redshift__", "redshift", "__load", "marketing__load"])
def test_a_dag_id_needs_an_approved_domain_a_double_underscore_and_a_name(policy, dag_id):
    with DAG(dag_id, schedule=None, description="An example DAG for the rules.") as dag:
        EmptyOperator(task_id="step")

    assert check(dag, RULES_BY_NAME["dag-id-domain"], None, policy)


def test_a_path_under_the_checked_folder_is_shown_from_its_parent(tmp_path):
    """A temporary checkout (the pre-push hook's) is never named: its DAG files show as dags/<file>."""
    dag_file = tmp_path / "checkout" / "dags" / "redshift__example.py"

    assert gate.rules.shown_path(dag_file, tmp_path / "checkout" / "dags") == "dags/redshift__example.py"
    assert gate.rules.shown_path(dag_file) == str(dag_file)  # outside the repository, no folder: as given


ONE_BAD_TEMPLATE_DAG = FIVE_BAD_TEMPLATES_DAG.replace("range(1, 6)", "range(1, 2)").replace(
    '"echo {{ params.missing_" + str(n) + ".value }}"', '"echo {{ ds }}"'
)


def test_a_dag_with_one_render_problem_shows_it_alone(tmp_path, policy):
    from gate.loader import load

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "redshift__99_five_bad_templates.py").write_text(ONE_BAD_TEMPLATE_DAG)
    loaded = load(tmp_path / "dags")
    dag = loaded.dags["redshift__99_five_bad_templates"]
    (problem,) = loaded.render_problems(dag)  # `ds` is missing only in a manual run without a logical date

    message = check(dag, RULES_BY_NAME["templates-render"], loaded, policy)

    assert f": {problem}. Fix: " in message and "more:" not in message, message
