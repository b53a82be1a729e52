"""The MWAA side: UpdateEnvironment with the new object versions (botocore's Stubber checks the call against
the real MWAA API model; moto has no MWAA), or the exact command to run; and the CLI's exit codes."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy import cli, stamp
from tests.deploy.support import commit_all

ENVIRONMENT = "lakehouse-prod"


@pytest.fixture
def mwaa(aws_env):
    client = boto3.session.Session().client("mwaa")
    sent = []
    client.meta.events.register(
        "before-parameter-build.mwaa.UpdateEnvironment", lambda params, **_: sent.append(params)
    )
    with Stubber(client) as stubber:
        yield client, stubber, sent


def stamped(project):
    """Record a green test run for the project's current tree (what ./run_tests.sh does)."""
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return project


def run(project, s3, *args, mwaa_client=None):
    out = io.StringIO()
    code = cli.main(
        ["--repo", str(project), "--skip-gate-run", *args],
        s3_client=s3.client,
        mwaa_client=mwaa_client,
        out=out,
    )
    return code, out.getvalue()


def latest_version(s3, bucket, key):
    return s3.client.head_object(Bucket=bucket, Key=key)["VersionId"]


def test_first_sync_updates_the_environment_to_the_new_plugins_and_requirements(project, s3, bucket, mwaa):
    client, stubber, sent = mwaa
    stubber.add_response(
        "update_environment",
        {"Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{ENVIRONMENT}"},
        {
            "Name": ENVIRONMENT,
            "PluginsS3Path": "env-a/plugins.zip",
            "PluginsS3ObjectVersion": ANY,
            "RequirementsS3Path": "env-a/requirements.txt",
            "RequirementsS3ObjectVersion": ANY,
        },
    )
    stamped(project)

    code, output = run(
        project, s3, "--target", f"s3://{bucket}/env-a", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    stubber.assert_no_pending_responses()
    assert sent[0]["PluginsS3ObjectVersion"] == latest_version(s3, bucket, "env-a/plugins.zip")
    assert sent[0]["RequirementsS3ObjectVersion"] == latest_version(s3, bucket, "env-a/requirements.txt")
    assert "UpdateEnvironment lakehouse-prod started" in output


def test_only_the_changed_file_goes_into_the_update(project, s3, bucket, mwaa):
    client, stubber, sent = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")  # first sync, no environment given
    (project / "requirements/requirements.txt").write_text(
        "--constraint https://example.invalid/c.txt\nrich\n"
    )
    commit_all(project)
    stubber.add_response(
        "update_environment",
        {"Arn": f"arn:aws:airflow:us-east-1:123456789012:environment/{ENVIRONMENT}"},
        {"Name": ENVIRONMENT, "RequirementsS3Path": "requirements.txt", "RequirementsS3ObjectVersion": ANY},
    )

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    stubber.assert_no_pending_responses()
    assert sent[0]["RequirementsS3ObjectVersion"] == latest_version(s3, bucket, "requirements.txt")


def test_a_dag_change_does_not_touch_the_environment(project, s3, bucket, mwaa):
    client, stubber, sent = mwaa  # no response queued: any MWAA call would fail the sync
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    (project / "dags/redshift__01_first.py").write_text("FIRST = 11\n")
    commit_all(project)

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert sent == [] and "1 uploaded" in output


def test_without_an_environment_the_exact_command_is_printed(project, s3, bucket):
    code, output = run(stamped(project), s3, "--target", f"s3://{bucket}/env-a")

    assert code == cli.OK, output
    plugins = latest_version(s3, bucket, "env-a/plugins.zip")
    requirements = latest_version(s3, bucket, "env-a/requirements.txt")
    assert (
        "aws mwaa update-environment --name ENVIRONMENT_NAME "
        f"--plugins-s3-path env-a/plugins.zip --plugins-s3-object-version {plugins} "
        f"--requirements-s3-path env-a/requirements.txt --requirements-s3-object-version {requirements}"
    ) in output


def test_environment_with_a_folder_target_is_bad_usage(project, tmp_path, s3):
    code, _ = run(stamped(project), s3, "--target", str(tmp_path / "bucket"), "--environment", ENVIRONMENT)

    assert code == cli.USAGE
    assert not (tmp_path / "bucket").exists()


def test_a_failed_upload_exits_non_zero(project, s3, bucket, capsys):
    def refuse_plugins(request, **_):
        if "plugins.zip" in request.url:
            raise ConnectionResetError("connection reset by peer")

    s3.client.meta.events.register("before-send.s3.PutObject", refuse_plugins)

    code, _ = run(stamped(project), s3, "--target", f"s3://{bucket}")

    assert code == cli.FAILED
    assert "upload of plugins.zip" in capsys.readouterr().err


def test_a_failed_update_exits_non_zero_and_prints_the_command_to_retry(project, s3, bucket, mwaa, capsys):
    client, stubber, sent = mwaa
    stubber.add_client_error(
        "update_environment", "ValidationException", "Environment is in UPDATING state", http_status_code=400
    )

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.FAILED
    plugins = latest_version(s3, bucket, "plugins.zip")
    retry = f"update-environment --name {ENVIRONMENT} --plugins-s3-path plugins.zip"
    assert f"{retry} --plugins-s3-object-version {plugins}" in output
    assert "UPDATING" in capsys.readouterr().err
