"""gate.dag_uses: the template files a DAG reads, each read once."""

from __future__ import annotations

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
