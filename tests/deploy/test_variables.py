"""Variables on MWAA: the environment's values from config/environments/NAME/variables.json, planned against
GET /variables and applied by one bulk PATCH /variables through InvokeRestApi (botocore's Stubber checks each
call, parameters and body included, against the real MWAA model). Only the file's keys are managed; nothing
is deleted. The Variable responses are Airflow 3.0.6's VariableCollectionResponse (key, value, description,
is_encrypted) and BulkResponse (create/update: success, errors)."""

from __future__ import annotations

import io
import json

import pytest
from tests.deploy.support import FakeClock, ci_log, commit_all, managed_contents

from deploy import bundle, cli, stamp, variables
from deploy.airflow_api import PAGE

import repository

ENVIRONMENT = "lakehouse-prod"
DEFINITIONS = {
    "redshift_cluster_id": {"description": "Redshift cluster.", "value": "local-cluster"},
    "lakehouse_bucket": {"description": "Data lake bucket.", "value": "local-bucket"},
    "athena_workgroup": {"description": "Athena workgroup.", "value": "primary"},
    "glue_database_raw": {"description": "Raw database.", "value": "raw"},
}


def with_values(project, values: dict) -> object:
    (project / "config/environments" / ENVIRONMENT).mkdir(parents=True, exist_ok=True)
    (project / variables.DEFINITIONS).write_text(json.dumps(DEFINITIONS))
    (project / variables.ENVIRONMENT_VALUES.format(name=ENVIRONMENT)).write_text(json.dumps(values))
    commit_all(project, "values")
    assert stamp.write(project, stamp.tree_hash(project), "full")
    return project


def run(project, s3, bucket, mwaa_client, *args, out=None):
    """(exit code, what the sync printed); with `out` (a CI log's stdout), the output is in that log."""
    out = out or io.StringIO()
    code = cli.main(
        ["--repo", str(project), "--skip-gate-run", "--target", f"s3://{bucket}", *args]
        + ["--environment", ENVIRONMENT, "--no-verify-deploy"],
        s3_client=s3.client,
        mwaa_client=mwaa_client,
        out=out,
        clock=FakeClock(),
    )
    return code, out.getvalue() if isinstance(out, io.StringIO) else None


def on_mwaa(key, value, description=None):
    return {"key": key, "value": value, "description": description, "is_encrypted": True}


def expect_variables(stubber, items):
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {"variables": items, "total_entries": len(items)}},
        {
            "Name": ENVIRONMENT,
            "Path": "/variables",
            "Method": "GET",
            "QueryParameters": {"limit": PAGE, "offset": 0},
        },
    )


def expect_bulk(stubber, actions, answer):
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": answer},
        {"Name": ENVIRONMENT, "Path": "/variables", "Method": "PATCH", "Body": {"actions": actions}},
    )


def expect_environment(stubber):
    stubber.add_response("get_environment", {"Environment": {"Name": ENVIRONMENT, "Status": "AVAILABLE"}})
    stubber.add_response(
        "update_environment", {"Arn": "arn"}, None
    )  # the first sync of the bundle's environment files
    stubber.add_response("get_environment", {"Environment": {"Name": ENVIRONMENT, "Status": "AVAILABLE"}})


MWAA_NOW = [
    on_mwaa("lakehouse_bucket", "prod-bucket", "Data lake bucket."),  # in step
    on_mwaa("athena_workgroup", "old-workgroup", "Athena workgroup."),  # managed, differs
    on_mwaa("glue_database_raw", "set-by-hand", "Raw database."),  # not in the file: left alone
    on_mwaa("someone_elses", "theirs"),  # not ours at all
]
VALUES = {
    "redshift_cluster_id": "prod-cluster",
    "lakehouse_bucket": "prod-bucket",
    "athena_workgroup": "prod",
}


def test_the_plan_is_printed_and_applied_in_one_bulk_request_that_never_deletes(
    project, s3, bucket, mwaa, tmp_path, monkeypatch
):
    client, stubber, calls = mwaa
    project = with_values(project, VALUES)
    expect_variables(stubber, MWAA_NOW)
    expect_bulk(
        stubber,
        [
            {
                "action": "create",
                "entities": [
                    {
                        "key": "redshift_cluster_id",
                        "value": "prod-cluster",
                        "description": "Redshift cluster.",
                    }
                ],
                "action_on_existence": "fail",
            },
            {
                "action": "update",
                "entities": [
                    {"key": "athena_workgroup", "value": "prod", "description": "Athena workgroup."}
                ],
                "action_on_non_existence": "fail",
            },
        ],
        {
            "create": {"success": ["redshift_cluster_id"], "errors": []},
            "update": {"success": ["athena_workgroup"], "errors": []},
        },
    )
    expect_environment(stubber)
    log = tmp_path / "ci.log"  # stdout and stderr as one pipe: the plan is above the upload progress

    with ci_log(log, monkeypatch) as out:
        code, _ = run(project, s3, bucket, client, out=out)

    output = log.read_text()
    assert code == cli.OK, output
    assert output.index("Variables for MWAA") < output.index("Variables applied") < output.index("uploading ")
    assert (
        f"Variables for MWAA {ENVIRONMENT} (config/environments/{ENVIRONMENT}/variables.json): 1 added, "
        "1 changed, 1 unchanged; Variables not in the file are left alone\n"
        "    + redshift_cluster_id\n    ~ athena_workgroup\n"
    ) in output
    assert calls[:2] == ["InvokeRestApi", "InvokeRestApi"]  # before any file goes up


def test_a_changed_description_is_a_change(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    project = with_values(project, {"lakehouse_bucket": "prod-bucket"})
    expect_variables(stubber, [on_mwaa("lakehouse_bucket", "prod-bucket", "an old description")])
    expect_bulk(
        stubber,
        [
            {
                "action": "update",
                "entities": [
                    {"key": "lakehouse_bucket", "value": "prod-bucket", "description": "Data lake bucket."}
                ],
                "action_on_non_existence": "fail",
            }
        ],
        {"update": {"success": ["lakehouse_bucket"], "errors": []}},
    )
    expect_environment(stubber)

    assert run(project, s3, bucket, client)[0] == cli.OK


def test_a_dry_run_reads_the_variables_and_writes_nothing(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    project = with_values(project, VALUES)
    expect_variables(stubber, MWAA_NOW)

    code, output = run(project, s3, bucket, client, "--dry-run")

    assert code == cli.OK, output
    assert "1 added, 1 changed, 1 unchanged" in output and "dry run: nothing was changed" in output
    assert calls == ["InvokeRestApi"]
    assert managed_contents(s3.client, bucket) == {}  # and no file went up either


def test_a_variable_the_dags_read_that_neither_the_file_nor_mwaa_sets_is_named_with_the_fix(
    project, s3, bucket, mwaa
):
    client, stubber, calls = mwaa
    project = with_values(project, {"lakehouse_bucket": "prod-bucket"})
    expect_variables(
        stubber, [on_mwaa("lakehouse_bucket", "prod-bucket", "Data lake bucket.")] + MWAA_NOW[2:]
    )

    code, output = run(project, s3, bucket, client, "--dry-run")

    source = f"config/environments/{ENVIRONMENT}/variables.json"
    assert code == cli.OK, output
    assert [line for line in output.splitlines() if line.startswith("    ! ")] == [
        f"    ! {key}: the DAGs read it (config/variables.json), but neither {source} nor MWAA {ENVIRONMENT} "
        f"has it: a task rendering it fails (Variable {key} does not exist) unless the secrets backend holds "
        f"airflow/variables/{key}. Fix: add it to {source}"
        for key in ("athena_workgroup", "redshift_cluster_id")  # glue_database_raw: set on MWAA by hand
    ]
    assert calls == ["InvokeRestApi"]


def test_environment_in_step_sends_no_write(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    project = with_values(project, {"lakehouse_bucket": "prod-bucket"})
    expect_variables(stubber, MWAA_NOW)
    expect_environment(stubber)

    code, output = run(project, s3, bucket, client)

    assert code == cli.OK, output
    assert "0 added, 0 changed, 1 unchanged" in output and "Variables applied" not in output


def test_a_refused_bulk_entry_fails_the_sync_naming_the_error(project, s3, bucket, mwaa, capsys):
    client, stubber, calls = mwaa
    project = with_values(project, {"redshift_cluster_id": "prod-cluster"})
    expect_variables(stubber, [])
    entity = {"key": "redshift_cluster_id", "value": "prod-cluster", "description": "Redshift cluster."}
    expect_bulk(
        stubber,
        [{"action": "create", "entities": [entity], "action_on_existence": "fail"}],
        {
            "create": {
                "success": [],
                "errors": [
                    {
                        "error": "The variables with these keys: {'redshift_cluster_id'} already exist.",
                        "status_code": 409,
                    }
                ],
            }
        },
    )

    assert run(project, s3, bucket, client)[0] == cli.FAILED

    assert "PATCH /variables refused: The variables with these keys" in capsys.readouterr().err
    assert managed_contents(s3.client, bucket) == {}  # nothing synced after a failed Variables step


def test_a_sync_the_preflight_refuses_changes_no_variable(project, s3, bucket, mwaa, capsys):
    """The Variables are planned first, but applied only once every check of the sync has passed: a refused
    sync that says "nothing was uploaded" has changed nothing on MWAA either."""
    client, stubber, calls = mwaa
    (project / "startup.sh").write_bytes(
        (repository.TESTS / "deploy/preflight_fixtures/startup_fails.sh").read_bytes()
    )
    project = with_values(project, {"redshift_cluster_id": "prod-cluster"})
    expect_variables(stubber, [])  # the planned change is "+ redshift_cluster_id"; no PATCH is expected

    code, output = run(project, s3, bucket, client)

    assert code == cli.REFUSED, output
    assert "    + redshift_cluster_id" in output
    assert "startup.sh: exited 1 under bash -e" in capsys.readouterr().err
    assert calls == ["InvokeRestApi"]  # the GET of the plan only
    assert managed_contents(s3.client, bucket) == {}


def test_a_sync_the_bundle_refuses_changes_no_variable_and_its_log_has_the_plan_above_the_refusal(
    project, s3, bucket, mwaa, tmp_path, monkeypatch
):
    client, stubber, calls = mwaa
    (project / "dags/big.csv").write_bytes(b"x" * (bundle.MAX_FILE_BYTES + 1))
    project = with_values(project, {"redshift_cluster_id": "prod-cluster"})
    expect_variables(stubber, [])
    log = tmp_path / "ci.log"  # stdout and stderr as one pipe

    with ci_log(log, monkeypatch) as out:
        code, _ = run(project, s3, bucket, client, out=out)

    output = log.read_text()
    assert code == cli.FAILED, output
    assert output.index("    + redshift_cluster_id") < output.index("dags/big.csv: 5,242,881 bytes")
    assert calls == ["InvokeRestApi"]  # the GET of the plan only
    assert managed_contents(s3.client, bucket) == {}


@pytest.mark.parametrize(
    "values, message",
    [
        (
            {"redshift_clusterid": "x"},
            "'redshift_clusterid' is no Variable of config/variables.json "
            "(did you mean 'redshift_cluster_id'?)",
        ),
        ({"lakehouse_bucket": 3}, "'lakehouse_bucket' is int, not a string"),
    ],
)
def test_a_wrong_file_fails_before_any_call_naming_the_key(
    project, s3, bucket, mwaa, capsys, values, message
):
    client, stubber, calls = mwaa
    project = with_values(project, values)

    assert run(project, s3, bucket, client)[0] == cli.FAILED

    error = capsys.readouterr().err
    assert f"config/environments/{ENVIRONMENT}/variables.json: {message}" in error and "Fix:" in error
    assert calls == [] and managed_contents(s3.client, bucket) == {}


def test_a_secret_is_refused_and_sent_to_the_secrets_backend():
    definitions = json.dumps({"warehouse_password": {"description": "no", "value": "x"}}).encode()

    with pytest.raises(variables.VariablesError, match="airflow/variables/warehouse_password"):
        variables.wanted_values(definitions, b'{"warehouse_password": "hunter2"}', ENVIRONMENT)


def test_no_values_for_the_environment_sets_nothing_and_says_how(project, s3, bucket, mwaa):
    client, stubber, calls = mwaa
    expect_environment(stubber)
    assert stamp.write(project, stamp.tree_hash(project), "full")

    code, output = run(project, s3, bucket, client)

    assert code == cli.OK, output
    assert f"Variables: config/environments/{ENVIRONMENT}/variables.json does not exist" in output
    assert "InvokeRestApi" not in calls


def test_the_repository_environment_files_are_valid():
    """Every environment's values name Variables the DAGs read, as strings, and no secret (fast path)."""
    files = sorted((repository.CONFIG / "environments").glob("*/variables.json"))
    assert files, "config/environments/ holds no environment"
    definitions = (repository.CONFIG / "variables.json").read_bytes()
    for path in files:
        wanted = variables.wanted_values(definitions, path.read_bytes(), path.parent.name)
        assert wanted, f"{path}: no values"


def test_every_refused_bulk_entry_is_named(project, s3, bucket, mwaa, capsys):
    client, stubber, calls = mwaa
    project = with_values(project, {"redshift_cluster_id": "prod-cluster", "athena_workgroup": "prod"})
    expect_variables(stubber, [on_mwaa("athena_workgroup", "old", "Athena workgroup.")])
    created = {"key": "redshift_cluster_id", "value": "prod-cluster", "description": "Redshift cluster."}
    updated = {"key": "athena_workgroup", "value": "prod", "description": "Athena workgroup."}
    expect_bulk(
        stubber,
        [
            {"action": "create", "entities": [created], "action_on_existence": "fail"},
            {"action": "update", "entities": [updated], "action_on_non_existence": "fail"},
        ],
        {
            "create": {
                "success": [],
                "errors": [{"error": "redshift_cluster_id already exists", "status_code": 409}],
            },
            "update": {
                "success": [],
                "errors": [{"error": "athena_workgroup was not found", "status_code": 404}],
            },
        },
    )

    assert run(project, s3, bucket, client)[0] == cli.FAILED

    assert (
        f"MWAA {ENVIRONMENT}: PATCH /variables refused 2 entries: redshift_cluster_id already exists; "
        "athena_workgroup was not found. Fix: rerun"
    ) in capsys.readouterr().err


def test_a_file_that_is_not_json_names_itself_and_the_fix():
    with pytest.raises(variables.VariablesError) as error:
        variables.wanted_values(b"{}", b'{"lakehouse_bucket": ', ENVIRONMENT)

    assert str(error.value).startswith(f"config/environments/{ENVIRONMENT}/variables.json: not valid JSON (")
    assert str(error.value).endswith("). Fix: correct the file.")
