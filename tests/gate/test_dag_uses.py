"""gate.dag_uses: the template files a DAG reads, each read once."""

from __future__ import annotations

import gzip

from gate.dag_uses import TemplateFiles


def test_a_template_file_is_read_from_the_first_root_that_has_it_and_a_missing_one_is_empty(tmp_path):
    first, second = tmp_path / "dags", tmp_path / "sql"
    (second / "redshift").mkdir(parents=True)
    first.mkdir()
    (second / "redshift" / "merge.sql").write_text("MERGE INTO t;\n")
    files = TemplateFiles()

    assert files.text([first, second], "redshift/merge.sql") == "MERGE INTO t;\n"
    assert files.text([first, second], "redshift/missing.sql") == ""


def test_a_file_named_in_a_templated_field_is_read_for_its_variables_and_includes(tmp_path):
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.sdk import DAG

    from gate.dag_uses import uses

    (tmp_path / "load.sql").write_text("COPY t FROM '{{ var.value.bucket }}';\n{% include 'part.sql' %}\n")
    (tmp_path / "part.sql").write_text("-- role {{ var.value.role_arn }}\n")
    with DAG(dag_id="file_templates", schedule=None, template_searchpath=[str(tmp_path)]) as dag:
        SQLExecuteQueryOperator(task_id="load", sql="load.sql", conn_id="warehouse")
        SQLExecuteQueryOperator(
            task_id="inline", sql="SELECT '{{ var.value.inline_only }}';\n", conn_id="warehouse"
        )

    assert uses(dag, TemplateFiles()) == (["bucket", "inline_only", "role_arn"], ["load.sql", "part.sql"])


TWO_KINDS_DAG = """
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(dag_id="redshift__two_kinds", schedule=None, template_searchpath=[{sql!r}]):
    BashOperator(task_id="prepare", bash_command="echo {{{{ var.value.stage }}}}\\necho ready\\n")
    SQLExecuteQueryOperator(task_id="vacuum", sql="vacuum.sql", conn_id="warehouse")
    SQLExecuteQueryOperator(task_id="load", sql="redshift/load.sql", conn_id="warehouse")
"""


def _load_two_kinds(tmp_path):
    """The DAG file above parsed as the inventory parses it: the DagBag reads each named SQL file into
    its field (resolve_template_files), so what uses() sees is the files' text."""

    dags, sql = tmp_path / "dags", tmp_path / "sql"
    (sql / "redshift").mkdir(parents=True)
    dags.mkdir()
    (sql / "redshift" / "load.sql").write_text("COPY t FROM '{{ var.value.bucket }}';\nANALYZE t;\n")
    (dags / "redshift__two_kinds.py").write_text(TWO_KINDS_DAG.format(sql=str(sql)))
    return sql, dags


def test_a_one_line_sql_file_without_a_final_newline_is_recognised_by_its_text(tmp_path):
    from gate.dag_uses import uses
    from gate.loader import load

    sql, dags = _load_two_kinds(tmp_path)
    (sql / "vacuum.sql").write_text("VACUUM {{ var.value.schema }}.t")  # as an editor may save it
    dag = load(dags).dags["redshift__two_kinds"]
    assert dag.task_dict["vacuum"].sql == "VACUUM {{ var.value.schema }}.t"  # the file's text, read

    assert uses(dag, TemplateFiles()) == (["bucket", "schema", "stage"], ["redshift/load.sql", "vacuum.sql"])


def test_a_multi_line_bash_command_first_leaves_the_sql_files_found(tmp_path):
    """The files under a search path are indexed per kind of template: the bash task's .sh/.bash lookup
    comes first and must not hide the .sql files from the tasks after it (nor from the next DAG)."""
    from gate.dag_uses import uses
    from gate.loader import load

    sql, dags = _load_two_kinds(tmp_path)
    (sql / "vacuum.sql").write_text("VACUUM t;\n")
    (sql / "prepare.sh").write_text("echo {{ var.value.stage }}\necho ready\n")
    dag = load(dags).dags["redshift__two_kinds"]
    files = TemplateFiles()

    assert uses(dag, files) == (["bucket", "stage"], ["prepare.sh", "redshift/load.sql", "vacuum.sql"])
    assert uses(dag, files) == (["bucket", "stage"], ["prepare.sh", "redshift/load.sql", "vacuum.sql"])


def test_only_template_files_are_read_under_a_search_path(tmp_path):
    """A search path also holds other files (a gzip of sample rows, a README with the same text as a
    field): only files with the operator's template extensions are read and named."""
    from gate.dag_uses import uses
    from gate.loader import load

    sql, dags = _load_two_kinds(tmp_path)
    (sql / "vacuum.sql").write_text("VACUUM t;\n")
    (sql / "redshift" / "sample.txt.gz").write_bytes(gzip.compress(b"1|Alice\n", mtime=0))
    (sql / "README.md").write_text("COPY t FROM '{{ var.value.bucket }}';\nANALYZE t;\n")
    dag = load(dags).dags["redshift__two_kinds"]

    assert uses(dag, TemplateFiles()) == (["bucket", "stage"], ["redshift/load.sql", "vacuum.sql"])


def test_a_template_file_that_is_not_utf8_is_passed_over_not_a_crash(tmp_path):
    """Airflow reads templates as UTF-8; the render rule names such a file (gate.template_files.explain)."""
    (tmp_path / "a_latin1.sql").write_bytes("SELECT 'caf\u00e9';\n".encode("latin-1"))
    (tmp_path / "b_merge.sql").write_text("MERGE INTO t;\n")
    files = TemplateFiles()

    assert files.name_of("MERGE INTO t;\n", [tmp_path], (".sql",)) == "b_merge.sql"
    assert files.name_of("SELECT 'caf\u00e9';\n", [tmp_path], (".sql",)) is None
    assert files.text([tmp_path], "a_latin1.sql") == ""
