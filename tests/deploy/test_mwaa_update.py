"""The MWAA side: the environment converges to the bucket's environment files (read, update, wait), DAG files
go live only after it did, and the CLI's exit codes.

botocore's Stubber stands in for MWAA (moto has none) and checks every call against the real MWAA API model;
each expected call names its exact parameters. S3 is moto's server, which records the order of requests.
"""

from __future__ import annotations

import io

import pytest

from deploy import cli, stamp
from tests.deploy.support import FakeClock, commit_all

ENVIRONMENT = "lakehouse-prod"
ARN = f"arn:aws:airflow:us-east-1:123456789012:environment/{ENVIRONMENT}"


class CurrentVersion:
    """Equal to the version id the bucket holds for `key` when the comparison runs.

    The Stubber compares expected and sent parameters at the moment of the call, so this checks that
    UpdateEnvironment names exactly the object version that is current in the bucket at that moment.
    """

    def __init__(self, s3, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key

    def __eq__(self, other) -> bool:
        return other == self.s3.client.head_object(Bucket=self.bucket, Key=self.key)["VersionId"]

    def __ne__(self, other) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"<current version of s3://{self.bucket}/{self.key}>"


def environment(status: str, versions: dict | None = None, prefix: str = "", last_update: dict | None = None):
    """A GetEnvironment response: `versions` maps plugins.zip / requirements.txt to the configured version."""
    described = {"Name": ENVIRONMENT, "Arn": ARN, "Status": status}
    for key, (path_field, version_field) in {
        "plugins.zip": ("PluginsS3Path", "PluginsS3ObjectVersion"),
        "requirements.txt": ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
    }.items():
        if versions and key in versions:
            described[path_field] = prefix + key
            described[version_field] = versions[key]
    if last_update:
        described["LastUpdate"] = last_update
    return {"Environment": described}


def expect_get(stubber, response):
    stubber.add_response("get_environment", response, {"Name": ENVIRONMENT})


def expect_update(stubber, s3, bucket, keys, prefix="", strategy="GRACEFUL"):
    """UpdateEnvironment with exactly the path and current bucket version of each of `keys`."""
    fields = {"plugins.zip": "Plugins", "requirements.txt": "Requirements"}
    expected = {"Name": ENVIRONMENT, "WorkerReplacementStrategy": strategy}
    for key in keys:
        expected[f"{fields[key]}S3Path"] = prefix + key
        expected[f"{fields[key]}S3ObjectVersion"] = CurrentVersion(s3, bucket, prefix + key)
    stubber.add_response("update_environment", {"Arn": ARN}, expected)


def stamped(project):
    """Record a green test run for the project's current tree (what ./run_tests.sh does)."""
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return project


def run(project, s3, *args, mwaa_client=None, clock=None, verify=False):
    """The CLI as a user runs it; the post-deploy verification (its own tests: test_verify.py) off unless
    `verify`."""
    out = io.StringIO()
    code = cli.main(
        ["--repo", str(project), "--skip-gate-run", *args, *([] if verify else ["--no-verify-deploy"])],
        s3_client=s3.client,
        mwaa_client=mwaa_client,
        out=out,
        clock=clock or FakeClock(),
    )
    return code, out.getvalue()


def latest_version(s3, bucket, key):
    return s3.client.head_object(Bucket=bucket, Key=key)["VersionId"]


def current(s3, bucket, prefix=""):
    return {key: latest_version(s3, bucket, prefix + key) for key in ("plugins.zip", "requirements.txt")}


def test_first_sync_updates_the_environment_and_waits_until_it_is_available(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"], prefix="env-a/")
    expect_get(stubber, environment("UPDATING"))
    expect_get(stubber, environment("UPDATING"))
    expect_get(stubber, environment("AVAILABLE", last_update={"Status": "SUCCESS"}))
    stamped(project)

    code, output = run(
        project, s3, "--target", f"s3://{bucket}/env-a", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert calls == [
        "GetEnvironment",
        "UpdateEnvironment",
        "GetEnvironment",
        "GetEnvironment",
        "GetEnvironment",
    ]
    assert "MWAA lakehouse-prod: UPDATING" in output and "MWAA lakehouse-prod: AVAILABLE" in output


def test_a_rerun_after_a_killed_update_updates_the_environment_although_nothing_is_uploaded(
    project, s3, bucket, mwaa
):
    """The first run uploaded plugins.zip and requirements.txt, then died before UpdateEnvironment (or the
    update failed): the environment still runs the old versions, and the bucket holds the new ones."""
    client, stubber, calls = mwaa
    assert run(stamped(project), s3, "--target", f"s3://{bucket}")[0] == cli.OK  # no --environment: no update
    old = {"plugins.zip": "v-old-plugins", "requirements.txt": "v-old-requirements"}
    expect_get(stubber, environment("AVAILABLE", old))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket), last_update={"Status": "SUCCESS"}))
    s3.reset()

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    # nothing to upload (only the lock, and the release that records the environment update)
    assert s3.put_keys == [".sync_dags.lock", ".releases/000002.json"]
    assert "0 uploaded" in output and "MWAA lakehouse-prod updated to plugins.zip, requirements.txt" in output
    assert "UpdateEnvironment" in calls


def test_a_failed_update_is_reported_with_the_environment_error_and_retried_by_the_rerun(
    project, s3, bucket, mwaa, capsys
):
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    expect_get(stubber, environment("UPDATING"))
    failed = {
        "Status": "FAILED",
        "Error": {
            "ErrorCode": "INCORRECT_PLUGINS",
            "ErrorMessage": "plugins.zip: No module named 'lakehouse2'",
        },
    }
    expect_get(stubber, environment("UPDATE_FAILED", last_update=failed))

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.FAILED, output
    error = capsys.readouterr().err
    assert (
        "UPDATE_FAILED" in error and "INCORRECT_PLUGINS" in error and "No module named 'lakehouse2'" in error
    )
    stubber.assert_no_pending_responses()

    # The rerun finds the files in place but the environment on other versions: it updates again.
    expect_get(
        stubber, environment("UPDATE_FAILED", {"plugins.zip": "v0", "requirements.txt": "v0"}, "", failed)
    )
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket), last_update={"Status": "SUCCESS"}))

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output


@pytest.mark.parametrize(
    "status, last_update, says",
    [
        (
            "AVAILABLE",
            {
                "Status": "FAILED",
                "Error": {"ErrorCode": "INCORRECT_PLUGINS", "ErrorMessage": "no lakehouse2"},
            },
            "update AVAILABLE: INCORRECT_PLUGINS: no lakehouse2.",
        ),
        ("UNAVAILABLE", None, "update UNAVAILABLE: no error code: no error message."),
    ],
    ids=["available-after-a-failed-update", "unavailable"],
)
def test_an_update_is_a_failure_when_either_the_environment_or_the_update_says_so(
    project, s3, bucket, mwaa, capsys, status, last_update, says
):
    """Back to AVAILABLE after a failed update, the environment runs the old files; UNAVAILABLE, none."""
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    expect_get(stubber, environment(status, last_update=last_update))

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.FAILED, output
    assert f"MWAA environment {ENVIRONMENT} {says} The DAG files were not uploaded" in capsys.readouterr().err
    stubber.assert_no_pending_responses()


def test_an_update_failed_environment_naming_the_bucket_versions_is_updated_again(project, s3, bucket, mwaa):
    """UPDATE_FAILED: the environment does not run the files, whatever versions its configuration shows."""
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    failed = {"Status": "FAILED", "Error": {"ErrorCode": "TIMEOUT", "ErrorMessage": "worker did not start"}}
    expect_get(stubber, environment("UPDATE_FAILED", current(s3, bucket), last_update=failed))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket), last_update={"Status": "SUCCESS"}))

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output


def test_an_environment_in_step_with_the_bucket_is_left_alone(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket)))

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment"] and "nothing to do" in output


def test_only_the_file_whose_version_differs_goes_into_the_update(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    before = current(s3, bucket)
    (project / "requirements/requirements.txt").write_text(
        '--constraint "/usr/local/airflow/dags/constraints.txt"\nrich\n'
    )
    (project / "requirements/constraints.txt").write_text("rich==13.9.4\n")  # what the preflight resolves
    commit_all(project)
    expect_get(stubber, environment("AVAILABLE", before))
    expect_update(stubber, s3, bucket, ["requirements.txt"])
    expect_get(stubber, environment("AVAILABLE", {**before, "requirements.txt": "new"}))

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output


def test_an_update_in_progress_is_waited_for_before_the_environment_is_compared(project, s3, bucket, mwaa):
    """UpdateEnvironment is refused while the environment is UPDATING (or CREATING, ROLLING_BACK...): wait."""
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    expect_get(stubber, environment("UPDATING"))
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket)))

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment", "GetEnvironment"]


def test_with_no_wait_an_update_in_progress_fails_with_a_clear_message(project, s3, bucket, mwaa, capsys):
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    expect_get(stubber, environment("UPDATING"))

    code, _ = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--no-wait",
        mwaa_client=client,
    )

    assert code == cli.FAILED
    assert "lakehouse-prod is UPDATING" in capsys.readouterr().err


def test_with_no_wait_the_update_is_started_and_not_awaited(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])

    code, output = run(
        stamped(project),
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--no-wait",
        mwaa_client=client,
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment", "UpdateEnvironment"] and "not waiting" in output


def test_the_wait_is_bounded_and_says_what_to_do(project, s3, bucket, mwaa, capsys):
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    for _ in range(3):  # polled every 30 s: 0:30, 1:00, then the 1-minute limit is reached
        expect_get(stubber, environment("UPDATING"))
    clock = FakeClock()

    code, _ = run(
        stamped(project),
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--wait-minutes",
        "1",
        mwaa_client=client,
        clock=clock,
    )

    assert code == cli.FAILED
    error = capsys.readouterr().err
    assert "still UPDATING after 1 min" in error and "rerun" in error
    keys = {item["Key"] for item in s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert "dags/redshift__01_first.py" not in keys  # DAG files wait for the environment


def test_environment_files_then_the_update_then_dag_files_then_deletes(project, s3, bucket, mwaa, s3_server):
    """The order the S3 server saw: no DAG file before the environment runs the new plugins, no delete
    before every upload."""
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    before = current(s3, bucket)
    (project / "plugins/lakehouse/paths.py").write_text("SQL = 'sql'\nNEW = 1\n")
    (project / "dags/redshift__03_third.py").write_text("from lakehouse.paths import NEW\n")
    (project / "sql/redshift/ddl/users.sql").write_text("select 3;\n")
    (project / "dags/redshift__01_first.py").unlink()
    commit_all(project)
    expect_get(stubber, environment("AVAILABLE", before))
    expect_update(stubber, s3, bucket, ["plugins.zip"])
    expect_get(stubber, environment("UPDATING", before))
    expect_get(
        stubber, environment("AVAILABLE", {**before, "plugins.zip": "new"}, last_update={"Status": "SUCCESS"})
    )
    mark = s3_server.mark()

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    timeline = [
        (method, key)
        for method, key, query, _ in s3_server.since(mark, bucket)
        if method in ("PUT", "POST") and key != ".sync_dags.lock"
    ]
    mwaa_calls = [name for method, name, *_ in s3_server.requests[mark:] if method == "MWAA"]
    assert mwaa_calls == ["GetEnvironment", "UpdateEnvironment", "GetEnvironment", "GetEnvironment"]
    assert timeline == [
        ("PUT", "plugins.zip"),
        ("PUT", "dags/sql/redshift/ddl/users.sql"),
        ("PUT", "dags/redshift__03_third.py"),
        ("POST", ""),  # DeleteObjects
        ("PUT", ".releases/000002.json"),  # the release record, last
    ]
    # ... and the environment was AVAILABLE on the new plugins before the first of them
    order = [
        entry[:2] for entry in s3_server.requests[mark:] if entry[0] == "MWAA" or entry[1].startswith(bucket)
    ]
    last_poll = max(i for i, entry in enumerate(order) if entry == ("MWAA", "GetEnvironment"))
    first_dags = order.index(("PUT", f"{bucket}/dags/sql/redshift/ddl/users.sql"))
    assert order.index(("PUT", f"{bucket}/plugins.zip")) < last_poll < first_dags


def test_a_failed_update_leaves_the_dag_files_and_stale_objects_alone(project, s3, bucket, mwaa, capsys):
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    before_objects = {
        item["Key"]: item["ETag"] for item in s3.client.list_objects_v2(Bucket=bucket)["Contents"]
    }
    (project / "plugins/lakehouse/paths.py").write_text("SQL = 'sql'\nNEW = 1\n")
    (project / "dags/redshift__01_first.py").write_text("from lakehouse.paths import NEW\n")
    (project / "dags/redshift__02_second.py").unlink()
    commit_all(project)
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket)))
    stubber.add_client_error(
        "update_environment",
        "ValidationException",
        "Unable to update an environment in UPDATING state",
        http_status_code=400,
        expected_params={
            "Name": ENVIRONMENT,
            "WorkerReplacementStrategy": "GRACEFUL",
            "PluginsS3Path": "plugins.zip",
            "PluginsS3ObjectVersion": CurrentVersion(s3, bucket, "plugins.zip"),
        },
    )

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.FAILED
    after = {item["Key"]: item["ETag"] for item in s3.client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert after.pop("plugins.zip") != before_objects.pop("plugins.zip")
    assert after == before_objects  # the DAG change is not live, the deleted DAG is still there
    plugins = latest_version(s3, bucket, "plugins.zip")
    error = capsys.readouterr().err
    assert "in UPDATING state" in error and "the DAG files were not" in error
    assert f"--plugins-s3-path plugins.zip --plugins-s3-object-version {plugins}" in error


def test_a_dag_change_reads_the_environment_but_does_not_update_it(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    run(stamped(project), s3, "--target", f"s3://{bucket}")
    (project / "dags/redshift__01_first.py").write_text("FIRST = 11\n")
    commit_all(project)
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket)))

    code, output = run(
        stamped(project), s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment"] and "1 uploaded" in output


@pytest.mark.parametrize("strategy", [None, "FORCED"])
def test_without_an_environment_the_exact_command_is_printed(project, s3, bucket, strategy):
    chosen = ["--worker-replacement", strategy] if strategy else []
    code, output = run(stamped(project), s3, "--target", f"s3://{bucket}/env-a", *chosen)

    assert code == cli.OK, output
    plugins = latest_version(s3, bucket, "env-a/plugins.zip")
    requirements = latest_version(s3, bucket, "env-a/requirements.txt")
    assert (
        "aws mwaa update-environment --name ENVIRONMENT_NAME --worker-replacement-strategy "
        f"{strategy or 'GRACEFUL'} --plugins-s3-path env-a/plugins.zip --plugins-s3-object-version {plugins} "
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


def test_worker_replacement_forced_when_asked(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"], strategy="FORCED")
    expect_get(stubber, environment("AVAILABLE", last_update={"Status": "SUCCESS"}))

    code, output = run(
        stamped(project),
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--worker-replacement",
        "FORCED",
        mwaa_client=client,
    )

    assert code == cli.OK, output


class HoldsTheBytesOf:
    """A version id of `key` that is the bucket's current one and holds the bytes of version `old`."""

    def __init__(self, s3, bucket: str, key: str, old: str) -> None:
        self.s3, self.bucket, self.key, self.old = s3, bucket, key, old

    def _bytes(self, version: str) -> bytes:
        return self.s3.client.get_object(Bucket=self.bucket, Key=self.key, VersionId=version)["Body"].read()

    def __eq__(self, other) -> bool:
        return other == latest_version(self.s3, self.bucket, self.key) and self._bytes(other) == self._bytes(
            self.old
        )

    def __ne__(self, other) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"<current version of {self.key} holding the bytes of version {self.old}>"


def test_a_rollback_updates_the_environment_to_the_old_environment_files_gracefully(
    project, s3, bucket, mwaa
):
    """Release 2 changed plugins.zip; the rollback copies release 1's version back and updates the environment
    to it (the copy: the old bytes, and the bucket's current object, so the next sync sees nothing to do)."""
    client, stubber, calls = mwaa
    assert run(stamped(project), s3, "--target", f"s3://{bucket}")[0] == cli.OK
    old_plugins = latest_version(s3, bucket, "plugins.zip")
    (project / "plugins/lakehouse/paths.py").write_text("SQL = 'sql'\nNEW = 1\n")
    commit_all(project)
    assert run(stamped(project), s3, "--target", f"s3://{bucket}")[0] == cli.OK
    expect_get(stubber, environment("AVAILABLE", current(s3, bucket)))
    stubber.add_response(
        "update_environment",
        {"Arn": ARN},
        {
            "Name": ENVIRONMENT,
            "WorkerReplacementStrategy": "GRACEFUL",
            "PluginsS3Path": "plugins.zip",
            "PluginsS3ObjectVersion": HoldsTheBytesOf(s3, bucket, "plugins.zip", old_plugins),
        },
    )
    expect_get(stubber, environment("UPDATING"))
    expect_get(stubber, environment("AVAILABLE", last_update={"Status": "SUCCESS"}))

    code, output = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--rollback",
        "--environment",
        ENVIRONMENT,
        mwaa_client=client,
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment", "UpdateEnvironment", "GetEnvironment", "GetEnvironment"]
    assert f"MWAA {ENVIRONMENT} updated to plugins.zip" in output


def wait_for_update(project, s3, bucket, mwaa, polls: int, final: str, clock=None):
    """A first sync whose update is UPDATING right after UpdateEnvironment and at the next `polls` polls (30 s
    apart), then `final` at the poll after (none: UPDATING to the end)."""
    client, stubber, calls = mwaa
    expect_get(stubber, environment("AVAILABLE"))
    expect_update(stubber, s3, bucket, ["plugins.zip", "requirements.txt"])
    for _ in range(polls + 1):  # the look right after UpdateEnvironment, then one per poll
        expect_get(stubber, environment("UPDATING"))
    if final:
        expect_get(stubber, environment(final, last_update={"Status": "SUCCESS"}))
    return run(
        stamped(project),
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        mwaa_client=client,
        clock=clock,
    )


def test_a_long_wait_says_where_it_stands_every_5_minutes_and_gives_up_after_40(
    project, s3, bucket, mwaa, capsys
):
    code, output = wait_for_update(project, s3, bucket, mwaa, polls=80, final="")

    assert code == cli.FAILED
    assert [line for line in output.splitlines() if line.startswith("MWAA lakehouse-prod: UPDATING")] == [
        f"MWAA lakehouse-prod: UPDATING (updating to the new files; {minutes} min so far)"
        for minutes in range(0, 45, 5)
    ]
    assert "MWAA environment lakehouse-prod still UPDATING after 40 min" in capsys.readouterr().err


def test_the_end_of_a_long_wait_says_how_long_it_took(project, s3, bucket, mwaa):
    code, output = wait_for_update(project, s3, bucket, mwaa, polls=69, final="AVAILABLE")  # at 70 x 30 s

    assert code == cli.OK, output
    assert "MWAA lakehouse-prod: AVAILABLE after 35 min\n" in output


def test_a_wait_is_timed_from_its_start_on_a_clock_that_does_not_start_at_zero(project, s3, bucket, mwaa):
    """time.monotonic counts from an unspecified point (the machine's start): only differences are times."""
    clock = FakeClock(seconds=86_400.0)

    code, output = wait_for_update(project, s3, bucket, mwaa, polls=19, final="AVAILABLE", clock=clock)

    assert code == cli.OK, output
    assert [
        line for line in output.splitlines() if line.startswith(f"MWAA {ENVIRONMENT}: ") and "min" in line
    ] == [
        f"MWAA {ENVIRONMENT}: UpdateEnvironment started for plugins.zip, requirements.txt (10-30 min)",
        f"MWAA {ENVIRONMENT}: UPDATING (updating to the new files; 0 min so far)",
        f"MWAA {ENVIRONMENT}: UPDATING (updating to the new files; 5 min so far)",
        f"MWAA {ENVIRONMENT}: AVAILABLE after 10 min",
    ]
