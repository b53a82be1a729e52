"""Post-deploy verification through MWAA's InvokeRestApi (botocore's Stubber checks every call against the
real MWAA model, each with its exact parameters): every DAG of the release parsed after the files went up,
no new import error; --rollback-on-failure restores the release before on moto's S3.

The responses are Airflow 3.0.6's: GET /dags -> DAGCollectionResponse (dag_id, last_parsed_time, is_stale,
...), GET /importErrors -> ImportErrorCollectionResponse (import_error_id, timestamp, filename, bundle_name,
stack_trace), airflow/api_fastapi/core_api/datamodels/.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from tests.deploy.support import FakeClock, commit_all, lock_lifetimes, managed_contents

from deploy import cli, stamp
from deploy import verify as verification
from deploy.airflow_api import PAGE, AirflowApi, ApiError
from gate import inventory

ENVIRONMENT = "lakehouse-prod"
# As the gate writes it (tools/gate/inventory.py): per DAG its file and its structure
INVENTORY = {
    "redshift__01_first": {"file": "redshift__01_first.py", "tasks": ["load"], "edges": []},
    "redshift__02_second": {"file": "redshift__02_second.py", "tasks": ["load"], "edges": []},
}
RELEASE_DAGS = {
    dag_id: f"dags/{entry['file']}" for dag_id, entry in INVENTORY.items()
}  # as a release holds them
FRESH = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()  # after the deploy and MWAA's copy
OLD = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()


def stamped(project):
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return project


@pytest.fixture
def released(project, s3, bucket):
    """Release 1 (no environment), then a DAG change ready to sync as release 2."""
    (project / inventory.RECORDED_PATH).parent.mkdir(parents=True)
    (project / inventory.RECORDED_PATH).write_text(json.dumps(INVENTORY))
    commit_all(project, "inventory")
    assert run(stamped(project), s3, "--target", f"s3://{bucket}")[0] == cli.OK
    first = managed_contents(s3.client, bucket)
    (project / "dags/redshift__02_second.py").write_text("SECOND = 'broken'\n")
    commit_all(project, "second")
    return stamped(project), first


def run(project, s3, *args, mwaa_client=None):
    out = io.StringIO()
    code = cli.main(
        ["--repo", str(project), "--skip-gate-run", *args],
        s3_client=s3.client,
        mwaa_client=mwaa_client,
        out=out,
        clock=FakeClock(73_000.0),  # as time.monotonic() reads on a machine up for 20 hours, not 0
    )
    return code, out.getvalue()


def expect_list(stubber, path, field, items, offset=0, total=None):
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {field: items, "total_entries": total or len(items)}},
        {
            "Name": ENVIRONMENT,
            "Path": path,
            "Method": "GET",
            "QueryParameters": {"limit": PAGE, "offset": offset},
        },
    )


def expect_check(stubber, parsed: dict[str, str], errors=()):
    expect_list(stubber, "/importErrors", "import_errors", list(errors))
    dags = [{"dag_id": dag_id, "last_parsed_time": at, "is_stale": False} for dag_id, at in parsed.items()]
    expect_list(stubber, "/dags", "dags", dags)


def expect_environment_in_step(stubber, s3, bucket):
    described = {"Name": ENVIRONMENT, "Status": "AVAILABLE"}
    for key, stem in (("plugins.zip", "Plugins"), ("requirements.txt", "Requirements")):
        described[f"{stem}S3Path"] = key
        described[f"{stem}S3ObjectVersion"] = s3.client.head_object(Bucket=bucket, Key=key)["VersionId"]
    stubber.add_response("get_environment", {"Environment": described}, {"Name": ENVIRONMENT})


IMPORT_ERROR = {
    "import_error_id": 7,
    "timestamp": FRESH,
    "filename": "redshift__02_second.py",
    "bundle_name": "dags-folder",
    "stack_trace": "Traceback ...\nNameError: name 'broken' is not defined",
}


def test_a_deploy_verifies_when_every_dag_is_parsed_from_the_new_files(released, s3, bucket, mwaa):
    project, _ = released
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])  # before anything changes
    expect_environment_in_step(stubber, s3, bucket)
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": OLD})  # not yet re-parsed
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": FRESH})

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output
    assert "verification on MWAA lakehouse-prod (2 DAGs of the release):" in output
    assert "  ok       redshift__01_first (parsed" in output and "  ok       redshift__02_second" in output
    assert calls == ["InvokeRestApi", "GetEnvironment"] + ["InvokeRestApi"] * 4


@pytest.mark.parametrize("rollback", [[], ["--rollback", "1"]], ids=["sync", "rollback"])
def test_a_verified_deploy_holds_its_lock_through_the_verification_as_well(
    released, s3, bucket, mwaa, rollback
):
    project, _ = released
    client, stubber, calls = mwaa
    lifetimes = lock_lifetimes(s3)
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    if not rollback:  # a rollback to the live release changes nothing, so verifies nothing
        expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": FRESH})

    code, output = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        *rollback,
        "--environment",
        ENVIRONMENT,
        "--verify-minutes",
        "20",
        mwaa_client=client,
    )

    assert code == cli.OK, output
    # the environment wait (default), the margin after it, the verification
    assert lifetimes == [timedelta(minutes=40 + 30 + 20)]


def test_an_old_import_error_is_not_new(released, s3, bucket, mwaa):
    project, _ = released
    client, stubber, calls = mwaa
    old_error = {**IMPORT_ERROR, "filename": "elsewhere.py", "timestamp": OLD}
    expect_list(stubber, "/importErrors", "import_errors", [old_error])
    expect_environment_in_step(stubber, s3, bucket)
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": FRESH}, [old_error])

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.OK, output


def rolled_back_deploy(project, s3, bucket, mwaa):
    """A verified sync with --rollback-on-failure that a new import error rolls back: (exit code, output)."""
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": OLD}, [IMPORT_ERROR])
    expect_environment_in_step(stubber, s3, bucket)  # the rollback converges the environment too
    return run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--rollback-on-failure",
        mwaa_client=client,
    )


@pytest.mark.parametrize("releases_before", [1, 2])
def test_a_new_import_error_rolls_back_to_the_release_before_and_exits_non_zero(
    released, s3, bucket, mwaa, capsys, releases_before
):
    """With two releases before, the newer one (2) is restored, not the first; the rollback is recorded."""
    project, first = released
    if releases_before == 2:  # release 2: another change, shipped before the broken DAG file
        dag = project / "dags/redshift__02_second.py"
        broken = dag.read_text()
        dag.write_text(first["dags/redshift__02_second.py"].decode())
        (project / "dags/redshift__01_first.py").write_text("FIRST = 2\n")
        commit_all(project, "release 2")
        assert run(stamped(project), s3, "--target", f"s3://{bucket}")[0] == cli.OK
        first = managed_contents(s3.client, bucket)
        dag.write_text(broken)
        commit_all(project, "second, broken")
        stamped(project)
    code, output = rolled_back_deploy(project, s3, bucket, mwaa)

    assert code == cli.FAILED, output
    error = capsys.readouterr().err
    assert "new import error in redshift__02_second.py" in error
    restored, recorded = releases_before, releases_before + 2
    assert f"Rolled back to release {restored} (recorded as release {recorded})." in error
    assert f"verification failed; rolling back to release {restored}\n" in output
    assert "IMPORT ERROR (new) redshift__02_second.py: NameError: name 'broken' is not defined" in output
    assert "  FAILED   redshift__02_second (dags/redshift__02_second.py): last parsed" in output
    assert managed_contents(s3.client, bucket) == first  # byte for byte the release before
    assert f"rollback to {restored}" in run(project, s3, "--target", f"s3://{bucket}", "--releases")[1]


def test_a_failed_deploy_that_added_many_dag_files_is_rolled_back_past_the_mass_delete_guard(
    released, s3, bucket, mwaa, capsys
):
    """Its rollback deletes most DAG files (the ones it added): restoring the release before is the point."""
    project, first = released
    for n in (3, 4, 5):
        (project / f"dags/redshift__0{n}_added.py").write_text(f"ADDED = {n}\n")
    commit_all(project, "three more")

    code, output = rolled_back_deploy(stamped(project), s3, bucket, mwaa)

    assert code == cli.FAILED, output
    assert "Rolled back to release 1 (recorded as release 3)." in capsys.readouterr().err
    assert managed_contents(s3.client, bucket) == first  # 3 of the 5 DAG files deleted


def test_a_rollback_that_fails_its_verification_is_reported_and_not_rolled_back_in_turn(
    released, s3, bucket, mwaa, capsys
):
    """Rolled back in turn, it would restore the release it rolled back from (release 2, the broken one)."""
    project, first = released
    assert run(project, s3, "--target", f"s3://{bucket}")[0] == cli.OK  # release 2: the broken DAG file
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": FRESH}, [IMPORT_ERROR])

    code, output = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--rollback",
        "1",
        "--environment",
        ENVIRONMENT,
        "--rollback-on-failure",
        mwaa_client=client,
    )

    assert code == cli.FAILED, output
    assert "new import error in redshift__02_second.py" in capsys.readouterr().err
    assert "rolled back s3://" in output and "rolling back to release" not in output
    assert managed_contents(s3.client, bucket) == first  # release 1's files stay, as the rollback left them
    assert "rollback to 1" in run(project, s3, "--target", f"s3://{bucket}", "--releases")[1]


def test_without_rollback_on_failure_the_failed_deploy_stays_and_says_how_to_roll_back(
    released, s3, bucket, mwaa, capsys
):
    project, first = released
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    expect_check(stubber, {"redshift__01_first": FRESH, "redshift__02_second": OLD}, [IMPORT_ERROR])

    code, _ = run(project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client)

    assert code == cli.FAILED
    assert "Fix: ./sync_dags.sh --rollback" in capsys.readouterr().err
    assert managed_contents(s3.client, bucket) != first


def test_a_dag_never_parsed_again_fails_at_the_time_limit(released, s3, bucket, mwaa, capsys):
    project, _ = released
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    for _ in range(5):  # at 0, 15, 30, 45 and 60 s of a one-minute limit
        expect_check(stubber, {"redshift__01_first": FRESH})

    code, output = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--verify-minutes",
        "1",
        mwaa_client=client,
    )

    assert code == cli.FAILED
    assert (
        "1 DAG(s) not parsed from the new files after 1 min (redshift__02_second)" in capsys.readouterr().err
    )
    assert "redshift__02_second (dags/redshift__02_second.py): not listed by the environment" in output


def test_by_default_the_verification_gives_the_dag_processor_15_minutes(released, s3, bucket, mwaa, capsys):
    project, _ = released
    client, stubber, calls = mwaa
    expect_list(stubber, "/importErrors", "import_errors", [])
    expect_environment_in_step(stubber, s3, bucket)
    for _ in range(61):  # every 15 s from 0 to 15:00
        expect_check(stubber, {"redshift__01_first": FRESH})

    code, output = run(
        project, s3, "--target", f"s3://{bucket}", "--environment", ENVIRONMENT, mwaa_client=client
    )

    assert code == cli.FAILED
    assert (
        "1 DAG(s) not parsed from the new files after 15 min (redshift__02_second)" in capsys.readouterr().err
    )


def test_no_verify_deploy_makes_no_rest_api_call(released, s3, bucket, mwaa):
    project, _ = released
    client, stubber, calls = mwaa
    expect_environment_in_step(stubber, s3, bucket)

    code, output = run(
        project,
        s3,
        "--target",
        f"s3://{bucket}",
        "--environment",
        ENVIRONMENT,
        "--no-verify-deploy",
        mwaa_client=client,
    )

    assert code == cli.OK, output
    assert calls == ["GetEnvironment"]


@pytest.mark.parametrize("total, pages", [(PAGE, 1), (PAGE + 1, 2)])
def test_lists_are_read_page_by_page_until_the_total(mwaa, total, pages):
    client, stubber, calls = mwaa
    items = [{"dag_id": f"d{n}"} for n in range(total)]
    for page in range(pages):
        expect_list(stubber, "/dags", "dags", items[page * PAGE : (page + 1) * PAGE], page * PAGE, total)

    assert AirflowApi(client, ENVIRONMENT).items("/dags", "dags") == items


@pytest.mark.parametrize("status", [401, 403])  # Airflow: not authenticated, not allowed
def test_a_refused_call_names_the_call_and_the_permission(mwaa, status):
    client, stubber, calls = mwaa
    stubber.add_client_error(
        "invoke_rest_api",
        "RestApiClientException",
        "Forbidden",
        http_status_code=400,
        modeled_fields={"RestApiStatusCode": status, "RestApiResponse": {"detail": "Forbidden"}},
    )

    with pytest.raises(ApiError) as refused:
        AirflowApi(client, ENVIRONMENT).call("GET", "/importErrors")

    assert str(refused.value) == (
        f"MWAA lakehouse-prod: GET /importErrors failed ({status}): {{'detail': 'Forbidden'}}. Fix: give the "
        "deploy role airflow:InvokeRestApi on the environment's Admin role (tools/deploy/iam/README.md)."
    )


def test_a_call_iam_denies_names_the_permission(mwaa):
    client, stubber, calls = mwaa
    stubber.add_client_error(  # MWAA API reference: AccessDeniedException, HTTP status code 403
        "invoke_rest_api",
        "AccessDeniedException",
        "not authorized to perform: airflow:InvokeRestApi",
        http_status_code=403,
    )

    with pytest.raises(
        ApiError, match=r"failed \(403\): not authorized to perform.*Fix: give the deploy role"
    ):
        AirflowApi(client, ENVIRONMENT).call("GET", "/dags")


def test_a_failing_server_says_to_check_the_environment(mwaa):
    client, stubber, calls = mwaa
    stubber.add_client_error(
        "invoke_rest_api",
        "RestApiServerException",
        "Internal Server Error",
        http_status_code=400,
        modeled_fields={"RestApiStatusCode": 500, "RestApiResponse": {"detail": "boom"}},
    )

    with pytest.raises(ApiError) as failed:
        AirflowApi(client, ENVIRONMENT).call("GET", "/dags")

    assert str(failed.value).endswith(
        "failed (500): {'detail': 'boom'}. Fix: check that the environment is AVAILABLE and runs Airflow "
        "2.4.3 or later, then rerun."
    )


def test_a_parse_counts_only_from_mwaa_s_copy_delay_after_the_upload_on(mwaa):
    """MWAA copies dags/ to its containers every 30 s: a parse started sooner may have read the old files."""
    client, stubber, calls = mwaa
    deployed_at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    expect_check(
        stubber,
        {
            "redshift__01_first": "2026-01-01T13:00:30+01:00",
            "redshift__02_second": "2026-01-01T12:00:29.999999Z",
        },
    )

    outcome = verification.check(AirflowApi(client, ENVIRONMENT), RELEASE_DAGS, deployed_at, set())

    assert outcome.parsed == {"redshift__01_first": deployed_at + timedelta(seconds=30)}
    assert outcome.waiting == {
        "redshift__02_second": "last parsed 2026-01-01T12:00:29.999999+00:00, "
        "before the new files reached it (the upload + MWAA's 30 s copy delay)"
    }


def test_a_dag_the_environment_does_not_list_leaves_the_others_checked(mwaa):
    client, stubber, calls = mwaa
    deployed_at = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    expect_check(stubber, {"redshift__02_second": "2026-01-01T12:00:31Z"})  # the first is not listed

    outcome = verification.check(AirflowApi(client, ENVIRONMENT), RELEASE_DAGS, deployed_at, set())

    assert outcome.parsed == {"redshift__02_second": deployed_at + timedelta(seconds=31)}
    assert outcome.waiting == {
        "redshift__01_first": "not listed by the environment (not parsed yet, or its file fails)"
    }
