"""Template and SQL errors name their file and line; a misspelt path or name gets the closest ones."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from compat import airflow as airflow_compat
from gate.run_contexts import manual_run, render_problems, render_task
from gate.suggest import closest, did_you_mean
from gate.template_files import TemplateFileError, explain, file_of, source_line, sql_location

DAG_FILE = """
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.sdk import DAG

with DAG(dag_id="redshift__templates", schedule=None, template_searchpath=[{sql!r}]):
    RedshiftDataOperator(task_id="load", sql={files!r}, database="dev", cluster_identifier="c")
"""
GOOD = "CREATE SCHEMA IF NOT EXISTS {{ params.schema | default('tickit') }};\n"
TYPO = "CREATE TABLE t (\n    a INTEGER,\n    b INTEGER {{ params.schema }\n)\n"


def load_dag(tmp_path: Path, files: list[str]):
    sql = tmp_path / "sql"
    (sql / "ddl").mkdir(parents=True)
    (sql / "ddl" / "schema.sql").write_text(GOOD)
    (sql / "ddl" / "sales.sql").write_text("SELECT 1\n")
    (sql / "ddl" / "typo.sql").write_text(TYPO)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "redshift__templates.py").write_text(DAG_FILE.format(sql=str(sql), files=files))
    bag = airflow_compat.dag_bag(tmp_path / "dags", safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.dags["redshift__templates"]


def test_a_misspelt_sql_path_is_one_line_with_the_closest_name(tmp_path):
    dag = load_dag(tmp_path, ["ddl/shema.sql"])

    problems = render_problems(dag, variables={})
    with pytest.raises(TemplateFileError) as raised:
        render_task(dag.task_dict["load"], manual_run(dag, None), variables={})

    assert problems == [  # one line, not one per run
        f"task 'load', field 'sql': template file 'ddl/shema.sql' does not exist under {tmp_path / 'dags'}, "
        f"{tmp_path / 'sql'}; "
        "did you mean 'ddl/schema.sql'? Fix: correct the path in the DAG file (relative to sql/)"
    ]
    assert str(raised.value).startswith(
        "redshift__templates.load, field 'sql': template file 'ddl/shema.sql'"
    )
    assert "\n" not in str(raised.value)


def test_a_jinja_typo_names_the_file_and_line(tmp_path):
    dag = load_dag(tmp_path, ["ddl/schema.sql", "ddl/typo.sql"])

    problems = render_problems(dag, variables={})

    assert problems == [
        f"{tmp_path / 'sql' / 'ddl' / 'typo.sql'}:3: task 'load', field 'sql': Jinja syntax error: "
        "unexpected '}'. Fix: correct the Jinja at that line"
    ]


def test_a_template_file_that_is_not_utf8_names_the_file_line_and_fix(tmp_path):
    latin1 = tmp_path / "sql" / "ddl" / "latin1.sql"
    dag = load_dag(tmp_path, ["ddl/schema.sql", "ddl/latin1.sql"])  # the file is read when the task renders
    latin1.write_bytes("SELECT 1;\nSELECT 'caf\u00e9';\n".encode("latin-1"))

    problems = render_problems(dag, variables={})

    assert problems == [
        f"{latin1}:2: task 'load', field 'sql': not UTF-8 text (byte 0xe9), and Airflow reads templates as "
        "UTF-8. Fix: save the file as UTF-8"
    ]


def test_a_sql_position_maps_to_the_file_line(tmp_path):
    dag = load_dag(tmp_path, ["ddl/schema.sql"])
    env = dag.get_template_env()
    typo = (tmp_path / "sql" / "ddl" / "typo.sql").read_text()

    assert sql_location(env, typo, typo, 3, 15) == f"{tmp_path / 'sql' / 'ddl' / 'typo.sql'}:3:15"
    assert sql_location(env, "SELECT 2\n", "SELECT 2\n", 1, 8) == "inline SQL, rendered line 1, column 8"


def test_source_line_when_rendering_keeps_or_removes_lines():
    raw = "COPY t\n{%- if x %}\nFROM 'a'\n{%- endif %}\nGZIP\n"
    rendered = "COPY t\nFROM 'a'\nGZIP\n"

    assert source_line("a\nb\n", "a\nB\n", 2) == 2  # same line count: the same line
    assert source_line(raw, rendered, 3) == 5  # GZIP: the one equal file line
    assert source_line(raw, rendered, 4) is None  # past the rendering
    assert source_line("x\nx\ny\n", "x\nx\n", 1) is None  # two candidates: no guess
    assert source_line(raw, rendered, 1) == 1  # the first line: COPY t
    assert source_line(raw, rendered, 0) is None  # before the rendering


def test_suggestions_are_the_nearly_best_names_only():
    names = ["redshift__01_create_tables", "redshift__02_initial_load", "hudi__01_initial_load"]

    assert closest("redshift__01_create_table", names) == ["redshift__01_create_tables"]
    assert closest("load", names) == []  # below the cutoff: no suggestion
    assert closest("redshift__0_initial_load", names) == ["redshift__02_initial_load"]
    assert did_you_mean("hudi_01_initial_load", names) == "did you mean 'hudi__01_initial_load'? "
    assert did_you_mean("zzz", names) == ""


def test_a_suggestion_exactly_at_either_limit_is_kept_and_one_below_is_not():
    # difflib ratios: daily_top 0.6 (the cutoff), daily_tickets 0.583
    assert closest("daily_sales", ["daily_top"]) == ["daily_top"]
    assert closest("daily_sales", ["daily_tickets"]) == []
    # daily_sale_log 0.8 (the best), nightly_sales 0.75 (the best less NEARLY), monthly_sales 0.667
    names = ["monthly_sales", "nightly_sales", "daily_sale_log"]
    assert closest("daily_sales", names) == ["daily_sale_log", "nightly_sales"]


def test_at_most_three_names_are_suggested_the_equally_close_in_name_order():
    names = [
        "sales_h",
        "sales_d",
        "sales_f",
        "sales_b",
        "sales_g",
        "sales_c",
        "sales_e",
        "sales_a",
    ]  # 6/7 alike

    assert closest("sales_x", names) == ["sales_a", "sales_b", "sales_c"]
    assert did_you_mean("sales_x", names) == "did you mean 'sales_a' or 'sales_b' or 'sales_c'? "
    assert closest("sales_x", names[:5]) == ["sales_b", "sales_d", "sales_f"]


def test_no_candidate_is_no_suggestion():
    assert closest("ddl/schema.sql", []) == []
    assert did_you_mean("ddl/schema.sql", []) == ""


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc/self/mem")
def test_a_template_that_cannot_be_read_is_passed_over(tmp_path):
    (tmp_path / "a_unreadable.sql").symlink_to("/proc/self/mem")  # a file whose read fails: EIO
    (tmp_path / "b_merge.sql").write_text("MERGE INTO t;\n")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path)]))

    assert file_of(env, "MERGE INTO t;\n") == tmp_path / "b_merge.sql"


def test_only_sql_files_are_traced_and_an_empty_text_to_none(tmp_path):
    (tmp_path / "a_notes.md").write_text("MERGE INTO t;\n")
    (tmp_path / "b_merge.sql").write_text("MERGE INTO t;\n")
    (tmp_path / "c_empty.sql").write_text("")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path)]))

    assert file_of(env, "MERGE INTO t;\n") == tmp_path / "b_merge.sql"
    assert file_of(env, "") is None


def test_a_missing_template_without_suffix_is_matched_to_files_not_folders(tmp_path):
    (tmp_path / "ddl" / "schemas").mkdir(parents=True)  # a folder named closer than the file
    (tmp_path / "ddl" / "schema.sql").write_text(GOOD)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path)]))

    assert explain(jinja2.TemplateNotFound("ddl/shema"), env, "task 'load', field 'sql'") == (
        f"task 'load', field 'sql': template file 'ddl/shema' does not exist under {tmp_path}; "
        "did you mean 'ddl/schema.sql'? Fix: correct the path in the DAG file (relative to sql/)"
    )


def test_a_template_text_is_traced_to_its_file_past_files_that_cannot_be_read(tmp_path):
    (tmp_path / "a_latin1.sql").write_bytes("SELECT 'caf\u00e9';\n".encode("latin-1"))  # not UTF-8
    (tmp_path / "b_merge.sql").write_text("MERGE INTO t;\n")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path)]))

    assert file_of(env, "MERGE INTO t;\n") == tmp_path / "b_merge.sql"
    assert file_of(env, "SELECT 2;\n") is None


def test_at_most_three_suggestions_best_then_by_name():
    # each 0.957 to daily_sales
    names = ["xdaily_sales", "daily_salesx", "daily_saless", "daily_sales_"]

    assert closest("daily_sales", names) == ["daily_sales_", "daily_saless", "daily_salesx"]


def test_a_suggestion_just_below_the_best_less_nearly_is_not_kept():
    # daily_saless 0.957 (the best), daily_sal 0.9: below 0.957 - NEARLY (0.907) by less than 0.01
    assert closest("daily_sales", ["daily_sal", "daily_saless"]) == ["daily_saless"]


def test_the_templates_are_the_files_of_the_search_path_the_first_folder_winning(tmp_path):
    import jinja2

    from gate.template_files import _templates

    first, second = tmp_path / "dags", tmp_path / "sql"
    for folder in (first, second):
        (folder / "ddl" / "__pycache__").mkdir(parents=True)
        (folder / "ddl" / "schema.sql").write_text("SELECT 1;\n")
        (folder / "ddl" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    (second / "ddl" / "sales.sql").write_text("SELECT 2;\n")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(first), str(second)]))

    assert _templates(env) == {
        "ddl/schema.sql": first / "ddl" / "schema.sql",
        "ddl/sales.sql": second / "ddl" / "sales.sql",
    }
    assert list(_templates(env, ".sql")) == ["ddl/schema.sql", "ddl/sales.sql"]


def test_an_empty_text_is_no_template_file_even_beside_an_empty_file(tmp_path):
    import jinja2

    from gate.template_files import file_of

    (tmp_path / "empty.sql").write_text("")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(tmp_path)]))

    assert file_of(env, "") is None
