"""hooks/pre-commit in a real repository: black on the staged blobs, flake8, the secret scan.

git sends a hook's output to stderr: the assertions read `result.stderr`.
"""

from __future__ import annotations

import subprocess
import sys

UNFORMATTED = 'settings = {  "retries":2 }\n\n\ndef owner( ):\n    return   "data-platform"\n'
FORMATTED = 'settings = {"retries": 2}\n\n\ndef owner():\n    return "data-platform"\n'
# Built at run time so that this file itself holds no credential-shaped literal.
FAKE_ACCESS_KEY_ID = "AKIA" + "QWERTYUIOPASDFGH"
FAKE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


def test_unformatted_staged_file_is_committed_formatted(hooked_repo):
    hooked_repo.write("dags/settings.py", UNFORMATTED)
    hooked_repo.git("add", "dags/settings.py")

    result = hooked_repo.git("commit", "-m", "settings")

    assert "black reformatted dags/settings.py (re-staged)" in result.stderr
    assert hooked_repo.committed("dags/settings.py") == FORMATTED
    assert (hooked_repo.path / "dags/settings.py").read_text() == FORMATTED
    assert hooked_repo.git("status", "--porcelain").stdout == ""


def test_python_files_side_by_side_and_at_the_root_are_each_committed_formatted(hooked_repo):
    paths = ["dags/settings.py", "dags/more_settings.py", "setup_settings.py"]
    for path in paths:
        hooked_repo.write(path, UNFORMATTED)
    hooked_repo.git("add", *paths)

    result = hooked_repo.git("commit", "-m", "settings")

    for path in paths:
        assert f"black reformatted {path} (re-staged)" in result.stderr
        assert hooked_repo.committed(path) == FORMATTED
    assert hooked_repo.git("status", "--porcelain").stdout == ""


def test_partially_staged_file_keeps_its_unstaged_part(hooked_repo):
    hooked_repo.write("dags/settings.py", UNFORMATTED)
    hooked_repo.git("add", "dags/settings.py")
    work_in_progress = UNFORMATTED + "timeout_minutes=30\n"
    hooked_repo.write("dags/settings.py", work_in_progress)

    result = hooked_repo.git("commit", "-m", "settings")

    assert "reformatted the staged part of dags/settings.py" in result.stderr
    assert hooked_repo.committed("dags/settings.py") == FORMATTED
    assert (hooked_repo.path / "dags/settings.py").read_text() == work_in_progress
    assert "+timeout_minutes=30" in hooked_repo.git("diff", "HEAD", "--", "dags/settings.py").stdout


def test_unstaged_files_stay_out_of_the_commit(hooked_repo):
    hooked_repo.write("dags/settings.py", FORMATTED)
    hooked_repo.git("add", "dags/settings.py")
    hooked_repo.git("commit", "-q", "-m", "settings")
    hooked_repo.write("dags/settings.py", UNFORMATTED)  # modified, not staged
    hooked_repo.write("dags/draft.py", UNFORMATTED)  # untracked
    hooked_repo.write("dags/tables.py", UNFORMATTED.replace("settings", "tables"))
    hooked_repo.git("add", "dags/tables.py")

    hooked_repo.git("commit", "-m", "tables")

    changed = hooked_repo.git("show", "--name-only", "--format=", "HEAD").stdout.split()
    assert changed == ["dags/tables.py"]
    assert (hooked_repo.path / "dags/settings.py").read_text() == UNFORMATTED
    assert (hooked_repo.path / "dags/draft.py").read_text() == UNFORMATTED
    assert hooked_repo.git("status", "--porcelain").stdout.splitlines() == [
        " M dags/settings.py",
        "?? dags/draft.py",
    ]


def test_file_excluded_from_black_by_pyproject_is_left_alone(hooked_repo):
    # pyproject.toml excludes tests/gate/bad_dags/ (deliberately odd DAGs); the hook honours it like the gate.
    hooked_repo.write("tests/gate/bad_dags/odd.py", "x = {  'a':1 }\n")
    hooked_repo.git("add", "tests/gate/bad_dags/odd.py")

    hooked_repo.git("commit", "-m", "odd")

    assert hooked_repo.committed("tests/gate/bad_dags/odd.py") == "x = {  'a':1 }\n"


def test_staged_aws_secret_key_is_refused(hooked_repo):
    before = hooked_repo.head()
    hooked_repo.write(
        "plugins/lakehouse/credentials.py",
        f'aws_access_key_id = "{FAKE_ACCESS_KEY_ID}"\naws_secret_access_key = "{FAKE_SECRET_ACCESS_KEY}"\n',
    )
    hooked_repo.git("add", "plugins/lakehouse/credentials.py")

    result = hooked_repo.git("commit", "-m", "credentials", check=False)

    assert result.returncode != 0
    assert "plugins/lakehouse/credentials.py:1: AWS Access Key" in result.stderr
    assert "plugins/lakehouse/credentials.py:2: AWS Access Key" in result.stderr
    assert FAKE_SECRET_ACCESS_KEY not in result.stderr  # the report does not repeat the secret
    assert hooked_repo.head() == before


def test_keys_in_the_second_and_third_of_three_staged_files_are_each_refused(hooked_repo):
    """git lists the staged files as header, path, header, path...: every file is read, not only the first."""
    before = hooked_repo.head()
    hooked_repo.write("notes/a.txt", "nothing to see\n")
    hooked_repo.write("notes/b.txt", f"key {FAKE_ACCESS_KEY_ID}\n")
    hooked_repo.write("notes/c.txt", f"\nkey {FAKE_ACCESS_KEY_ID}\n")
    hooked_repo.git("add", "notes")

    result = hooked_repo.git("commit", "-m", "notes", check=False)

    assert result.returncode != 0
    assert "notes/b.txt:1: AWS Access Key" in result.stderr, result.stderr
    assert "notes/c.txt:2: AWS Access Key" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and hooked_repo.head() == before


def test_password_in_a_connection_uri_is_refused_in_any_file_type(hooked_repo):
    password = "s3cret" + "Passw0rd"
    hooked_repo.write(
        "config/connections.env", f"AIRFLOW_CONN_WAREHOUSE=postgresql://etl:{password}@db:5432/dw\n"
    )
    hooked_repo.git("add", "config/connections.env")

    result = hooked_repo.git("commit", "-m", "connection", check=False)

    assert result.returncode != 0
    assert "config/connections.env:1: Basic Auth Credentials" in result.stderr


def test_secret_already_committed_does_not_block_unrelated_changes(hooked_repo):
    hooked_repo.write("notes.txt", f"old key {FAKE_ACCESS_KEY_ID}\n")
    hooked_repo.git("add", "notes.txt")
    hooked_repo.git("commit", "-q", "--no-verify", "-m", "history")
    hooked_repo.write("notes.txt", f"old key {FAKE_ACCESS_KEY_ID}\nrotated, see the runbook\n")
    hooked_repo.git("add", "notes.txt")

    result = hooked_repo.git("commit", "-m", "note", check=False)

    assert result.returncode == 0, result.stderr


def test_flake8_problem_in_a_staged_file_is_refused(hooked_repo):
    before = hooked_repo.head()
    hooked_repo.write("plugins/lakehouse/unused.py", "import os\n\nVALUE = 1\n")
    hooked_repo.git("add", "plugins/lakehouse/unused.py")

    result = hooked_repo.git("commit", "-m", "unused", check=False)

    assert result.returncode != 0
    assert "plugins/lakehouse/unused.py:1:1: F401 'os' imported but unused" in result.stderr
    assert hooked_repo.head() == before


def test_an_airflow_path_ruff_flags_in_a_staged_file_is_refused(hooked_repo):
    # AIR311 (airflow3-suggested-update): a path Airflow 3 moved; ruff settings from pyproject.toml.
    before = hooked_repo.head()
    hooked_repo.write("plugins/lakehouse/moved.py", "from airflow.models.dag import DAG\n\nDAGS = [DAG]\n")
    hooked_repo.git("add", "plugins/lakehouse/moved.py")

    result = hooked_repo.git("commit", "-m", "moved", check=False)

    assert result.returncode != 0
    assert (
        "plugins/lakehouse/moved.py:3:9: airflow3-suggested-update: `airflow.models.dag.DAG`" in result.stderr
    )
    assert "ruff's Airflow rules found problems" in result.stderr
    assert hooked_repo.head() == before


def test_syntax_error_is_refused_with_the_file_named(hooked_repo):
    hooked_repo.write("dags/broken.py", "def broken(:\n    pass\n")
    hooked_repo.git("add", "dags/broken.py")

    result = hooked_repo.git("commit", "-m", "broken", check=False)

    assert result.returncode != 0
    assert "black could not format" in result.stderr
    assert "dags/broken.py" in result.stderr


def test_missing_venv_fails_with_the_fix(hooked_repo, tmp_path):
    hooked_repo.env = dict(hooked_repo.env, LAKEHOUSE_VENV=str(tmp_path / "no-venv"))
    hooked_repo.write("dags/settings.py", FORMATTED)
    hooked_repo.git("add", "dags/settings.py")

    result = hooked_repo.git("commit", "-m", "settings", check=False)

    assert result.returncode != 0
    assert f"no virtualenv at {tmp_path / 'no-venv'}" in result.stderr
    assert "run ./run_tests.sh once" in result.stderr


def test_install_is_idempotent(hooked_repo):
    hooked_repo.run("hooks/install.sh")
    hooked_repo.run("hooks/install.sh")

    assert hooked_repo.git("config", "--get-all", "core.hooksPath").stdout.splitlines() == ["hooks"]


def test_commit_of_named_paths_formats_them_and_leaves_other_staged_files_alone(hooked_repo):
    # `git commit -- <paths>` commits from a temporary index; the real index must end up formatted too.
    hooked_repo.write("dags/settings.py", UNFORMATTED)
    hooked_repo.write("dags/tables.py", UNFORMATTED)
    hooked_repo.git("add", "dags/settings.py", "dags/tables.py")

    hooked_repo.git("commit", "-m", "settings", "--", "dags/settings.py")

    assert hooked_repo.committed("dags/settings.py") == FORMATTED
    assert hooked_repo.staged("dags/tables.py") == UNFORMATTED  # staged, not part of this commit
    assert hooked_repo.git("status", "--porcelain").stdout.splitlines() == ["A  dags/tables.py"]


def test_allowlisted_line_is_accepted(hooked_repo):
    hooked_repo.write(
        "tests/fixtures.py", f'EXAMPLE_KEY_ID = "{FAKE_ACCESS_KEY_ID}"  # pragma: allowlist secret\n'
    )
    hooked_repo.git("add", "tests/fixtures.py")

    result = hooked_repo.git("commit", "-m", "fixture", check=False)

    assert result.returncode == 0, result.stderr


def test_refusal_for_a_secret_reformats_nothing(hooked_repo):
    # The reported line numbers must be those of the file the user staged.
    source = UNFORMATTED + f'key = "{FAKE_ACCESS_KEY_ID}"\n'
    hooked_repo.write("dags/settings.py", source)
    hooked_repo.git("add", "dags/settings.py")

    result = hooked_repo.git("commit", "-m", "settings", check=False)

    assert result.returncode != 0
    assert "dags/settings.py:6: AWS Access Key" in result.stderr
    assert hooked_repo.staged("dags/settings.py") == source
    assert (hooked_repo.path / "dags/settings.py").read_text() == source


def test_a_symlink_replaced_by_a_file_with_a_key_is_refused(hooked_repo):
    (hooked_repo.path / "dags").mkdir()
    (hooked_repo.path / "dags/settings.txt").symlink_to("/etc/hostname")
    hooked_repo.git("add", "dags/settings.txt")
    hooked_repo.git("commit", "-q", "-m", "a link")
    (hooked_repo.path / "dags/settings.txt").unlink()
    hooked_repo.write("dags/settings.txt", f"key = {FAKE_ACCESS_KEY_ID}\n")
    hooked_repo.git("add", "dags/settings.txt")
    assert hooked_repo.git("diff", "--cached", "--name-status").stdout.startswith("T")

    result = hooked_repo.git("commit", "-m", "the link becomes a file", check=False)

    assert result.returncode != 0
    assert "dags/settings.txt:1: AWS Access Key" in result.stderr


def test_a_key_in_a_binary_file_is_refused(hooked_repo):
    hooked_repo.write("dags/model.bin", "")
    (hooked_repo.path / "dags/model.bin").write_bytes(b"\0\1\2 header\n" + f"{FAKE_ACCESS_KEY_ID}\n".encode())
    hooked_repo.git("add", "dags/model.bin")

    result = hooked_repo.git("commit", "-m", "binary", check=False)

    assert result.returncode != 0
    assert "dags/model.bin:2: AWS Access Key" in result.stderr


def test_a_key_in_a_large_file_is_refused(hooked_repo):
    filler = b"".join(b"row %d,ok\n" % n for n in range(700_000))  # over 5 MiB
    hooked_repo.write("sample.csv", "")
    (hooked_repo.path / "sample.csv").write_bytes(filler + f"last,{FAKE_ACCESS_KEY_ID}\n".encode())
    hooked_repo.git("add", "sample.csv")

    result = hooked_repo.git("commit", "-m", "large", check=False)

    assert result.returncode != 0
    assert "sample.csv:700001: AWS Access Key" in result.stderr


def test_a_key_pasted_into_an_existing_line_is_refused_with_that_line(hooked_repo):
    """An edited line is an added line: the commit's version of it is new text, whatever the line count."""
    hooked_repo.write("config/settings.env", "REGION=us-east-1\nAWS_ACCESS_KEY_ID=\nLOG_LEVEL=info\n")
    hooked_repo.git("add", "config/settings.env")
    hooked_repo.git("commit", "-q", "-m", "settings")
    before = hooked_repo.head()
    hooked_repo.write(
        "config/settings.env", f"REGION=us-east-1\nAWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY_ID}\nLOG_LEVEL=info\n"
    )
    hooked_repo.git("add", "config/settings.env")

    result = hooked_repo.git("commit", "-m", "fill in the key", check=False)

    assert result.returncode != 0, f"the key on an edited line was committed: {result.stdout}"
    assert "config/settings.env:2: AWS Access Key" in result.stderr
    assert "config/settings.env:1:" not in result.stderr and "config/settings.env:3:" not in result.stderr
    assert hooked_repo.head() == before


def test_a_failing_git_command_refuses_the_commit_with_git_s_message_and_no_traceback(hooked_repo, tmp_path):
    # hooks/pre-commit execs the hook's Python like this; here git fails in it (no repository around it).
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    roots = f"{hooked_repo.path / 'tools'}:{hooked_repo.path / 'plugins'}"
    env = dict(hooked_repo.env, GIT_CEILING_DIRECTORIES=str(tmp_path), PYTHONPATH=roots)

    done = subprocess.run(
        [sys.executable, str(hooked_repo.path / "hooks" / "pre_commit.py")],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 1, done.stderr
    first_line = done.stderr.splitlines()[0]
    assert first_line.startswith("pre-commit: git diff-index --cached -z --no-renames --diff-filter=AMT ")
    assert "failed: fatal: not a git repository" in first_line
    assert "Traceback" not in done.stderr
