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
