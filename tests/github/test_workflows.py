"""The GitHub workflows: valid against the workflow schema (offline) and true to the deploy rules."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gate.workflow_rules import (
    REVIEWED_PINS,
    WORKFLOWS,
    common_violations,
    gate_workflow_violations,
    load,
    macos_job_violations,
    pin_violations,
    python_violations,
    sync_workflow_violations,
    triggers,
    upgrade_check_workflow_violations,
)

TEST_WORKFLOW = WORKFLOWS / "test_dags.yml"
SYNC_WORKFLOW = WORKFLOWS / "sync_dags.yml"
MUTATION_WORKFLOW = WORKFLOWS / "mutation.yml"
UPGRADE_WORKFLOW = WORKFLOWS / "upgrade_check.yml"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.y*ml"))


def test_every_workflow_exists():
    assert {TEST_WORKFLOW, SYNC_WORKFLOW, UPGRADE_WORKFLOW} <= set(ALL_WORKFLOWS)


@pytest.fixture(scope="module")
def schema_errors(tmp_path_factory) -> dict[str, list[str]]:
    """Every workflow, and one a job of which has no `runs-on`, checked against the workflow schema in one
    check-jsonschema run (it ships schemastore's github-workflow.json: no network; one interpreter start)."""
    broken = tmp_path_factory.mktemp("workflows") / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps:\n      - run: true\n")
    paths = [*ALL_WORKFLOWS, broken]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            "-o",
            "json",
        ]
        + [str(path) for path in paths],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    errors: dict[str, list[str]] = {path.name: [] for path in paths}
    for error in report["errors"] + report["parse_errors"]:
        errors[Path(error["filename"]).name].append(f"{error.get('path', '')}: {error['message']}")
    return errors


def test_the_schema_check_refuses_a_job_without_runs_on(schema_errors):
    assert schema_errors["broken.yml"] != []


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path, schema_errors):
    assert schema_errors[path.name] == []


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_reviewed_commit(path):
    text = path.read_text()
    assert "uses:" in text
    assert pin_violations(text) == []


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target_and_no_script_injection(path):
    assert common_violations(load(path.read_text())) == []


def test_the_test_workflow_follows_its_rules():
    assert gate_workflow_violations(load(TEST_WORKFLOW.read_text())) == []


def test_the_test_workflow_runs_the_fast_gate_and_the_hooks_on_macos():
    workflow = load(TEST_WORKFLOW.read_text())
    assert macos_job_violations(workflow) == []
    assert workflow["jobs"]["macos"]["runs-on"] == "macos-latest"


def test_the_test_workflow_can_be_called_by_the_deploy():
    assert "workflow_call" in load(TEST_WORKFLOW.read_text())["on"]


def test_the_sync_workflow_follows_its_rules():
    assert sync_workflow_violations(load(SYNC_WORKFLOW.read_text())) == []


def every_k_of_n(parts: list[str]) -> bool:
    """K/N for every K of N, each once (--shard and --part): together, all of it."""
    count = int(parts[0].split("/")[1])
    return sorted(parts, key=lambda part: int(part.split("/")[0])) == [
        f"{k}/{count}" for k in range(1, count + 1)
    ]


def test_the_mutation_workflow_runs_weekly_and_by_hand_never_on_a_pull_request_and_keeps_its_report():
    from mutation.run import PACKAGE_FOLDERS

    workflow = load(MUTATION_WORKFLOW.read_text())
    assert set(triggers(workflow)) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    mutants, report = workflow["jobs"]["mutants"], workflow["jobs"]["report"]
    # {group: {shard: its parts}}: a job without a part runs its shard whole (1/1)
    shards: dict[str, dict[str, list[str]]] = {}
    for entry in mutants["strategy"]["matrix"]["include"]:
        shards.setdefault(entry["group"], {}).setdefault(entry["shard"], []).append(entry.get("part", "1/1"))
    assert set(shards) == set(PACKAGE_FOLDERS) | {"sql"}
    for group, parts_of in shards.items():  # together every module of the group, every mutant of a shard
        assert every_k_of_n(list(parts_of)), group
        for shard, parts in parts_of.items():
            assert every_k_of_n(parts), (group, shard)
    assert any(len(parts) > 1 for parts_of in shards.values() for parts in parts_of.values())
    (run,) = [s for s in mutants["steps"] if "python -m mutation" in s.get("run", "")]
    assert run["env"]["PART"] == "${{ matrix.part }}" and '${PART:+--part "$PART"}' in run["run"]
    (results,) = [s for s in mutants["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert "${{ strategy.job-index }}" in results["with"]["name"]  # one artifact per job
    assert mutants["timeout-minutes"] < 360  # GitHub ends a job at 6 hours
    for job_id, job in workflow["jobs"].items():
        assert python_violations(job_id, job["steps"]) == []
    assert "tools/venv.sh python -m mutation" in "".join(s.get("run", "") for s in mutants["steps"])
    assert report["needs"] == "mutants" and report["if"] == "always()"
    assert "python -m mutation --report-only" in "".join(s.get("run", "") for s in report["steps"])
    (upload,) = [s for s in report["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert {"build/mutation/report.md", "build/mutation/report.json"} <= set(upload["with"]["path"].split())


def test_the_upgrade_check_workflow_follows_its_rules():
    assert upgrade_check_workflow_violations(load(UPGRADE_WORKFLOW.read_text())) == []


def test_every_reviewed_pin_is_used():
    text = "".join(path.read_text() for path in ALL_WORKFLOWS)
    assert [action for action, (sha, _) in REVIEWED_PINS.items() if f"{action}@{sha}" not in text] == []


# Each rule, shown to fire: (what breaks it, a phrase of the violation it must produce).
def step(workflow: dict, job: str, marker: str) -> dict:
    """The one step of `job` whose `uses` or `run` contains `marker`."""
    (found,) = [s for s in workflow["jobs"][job]["steps"] if marker in s.get("uses", s.get("run", ""))]
    return found


def without(mapping: dict, key: str) -> None:
    del mapping[key]


SYNC_MUTATIONS = {
    "cancel-in-progress": (
        lambda w: w["concurrency"].update({"cancel-in-progress": True}),
        "cancel-in-progress",
    ),
    "no-concurrency": (lambda w: without(w, "concurrency"), "concurrency group"),
    "deploy-without-needs": (lambda w: without(w["jobs"]["deploy"], "needs"), "need the test job"),
    "deploy-on-any-branch": (lambda w: w["jobs"]["deploy"].update({"if": "always()"}), "only on main"),
    "deploy-in-forks": (
        lambda w: w["jobs"]["deploy"].update({"if": "github.ref == 'refs/heads/main'"}),
        "never in a fork",
    ),
    "pull-request-trigger": (lambda w: w["on"].update({"pull_request": None}), "workflow_dispatch only"),
    "push-any-branch": (lambda w: w["on"].update({"push": None}), "branches: [main]"),
    "write-all": (lambda w: w.update({"permissions": "write-all"}), "contents: read"),
    "deploy-without-oidc": (
        lambda w: w["jobs"]["deploy"].update({"permissions": {"contents": "read"}}),
        "id-token: write",
    ),
    "no-environment": (lambda w: without(w["jobs"]["deploy"], "environment"), "environment production"),
    "deploy-checks-out-main": (
        lambda w: step(w, "deploy", "actions/checkout@")["with"].update({"ref": "main"}),
        "github.sha",
    ),
    "static-keys": (
        lambda w: step(w, "deploy", "configure-aws-credentials@")["with"].update(
            {"aws-secret-access-key": "${{ secrets.AWS_SECRET }}"}
        ),
        "no long-lived keys",
    ),
    "no-sync": (
        lambda w: step(w, "deploy", "./sync_dags.sh").update({"run": "aws s3 sync dags s3://bucket/dags"}),
        "sync_dags.sh",
    ),
    "tests-with-credentials": (
        lambda w: step(w, "deploy", "./sync_dags.sh").update(
            {"run": './sync_dags.sh --target "s3://b" --environment e'}
        ),
        "--skip-gate-run",
    ),
    "no-head-of-main-check": (
        lambda w: w["jobs"]["deploy"]["steps"].remove(step(w, "deploy", "commits/main")),
        "no longer the head of main",
    ),
    "head-check-after-credentials": (
        lambda w: w["jobs"]["deploy"]["steps"].append(
            w["jobs"]["deploy"]["steps"].pop(
                w["jobs"]["deploy"]["steps"].index(step(w, "deploy", "commits/main"))
            )
        ),
        "no longer the head of main",
    ),
    "older-commit-by-default": (
        lambda w: w["on"]["workflow_dispatch"]["inputs"]["deploy_older_commit"].update({"default": True}),
        "deploy_older_commit",
    ),
    "older-commit-on-push-too": (
        lambda w: step(w, "deploy", "commits/main")["env"].update(
            {"DEPLOY_OLDER_COMMIT": "${{ inputs.deploy_older_commit }}"}
        ),
        "honoured only when",
    ),
    "gate-after-credentials": (
        lambda w: w["jobs"]["deploy"]["steps"].append(
            w["jobs"]["deploy"]["steps"].pop(
                w["jobs"]["deploy"]["steps"].index(step(w, "deploy", "run_tests"))
            )
        ),
        "before the AWS credentials step",
    ),
}


GATE_MUTATIONS = {
    "no-pull-request": (lambda w: without(w["on"], "pull_request"), "pull_request"),
    "write-permissions": (lambda w: w.update({"permissions": {"contents": "write"}}), "contents: read"),
    "uses-a-secret": (
        lambda w: w["jobs"]["gate"].update({"env": {"TOKEN": "${{ secrets.TOKEN }}"}}),
        "secrets",
    ),
    "python-3-11": (
        lambda w: step(w, "gate", "setup-python@")["with"].update({"python-version": "3.11"}),
        "Python 3.12",
    ),
    "no-pip-cache": (lambda w: without(step(w, "gate", "setup-python@")["with"], "cache"), "cache pip"),
    "fast-only": (
        lambda w: step(w, "gate", "./run_tests.sh").update({"run": "./run_tests.sh --fast"}),
        "all suites",
    ),
    "no-postgres": (lambda w: step(w, "gate", "postgresql-15").update({"run": "true"}), "PostgreSQL 15"),
    "no-pull-request-view": (
        lambda w: w["jobs"]["gate"]["steps"].remove(step(w, "gate", "gate.github_report")),
        "run the pull-request view",
    ),
    "pull-request-view-before-the-gate": (
        lambda w: move(w, "gate", "gate.github_report", 0),
        "run the pull-request view",
    ),
    "pull-request-view-only-on-success": (
        lambda w: without(step(w, "gate", "gate.github_report"), "if"),
        "even when the gate fails",
    ),
    "schedule-review-without-base": (
        lambda w: without(step(w, "gate", "./run_tests.sh"), "env"),
        "GATE_BASE_REF",
    ),
    "shallow-checkout": (
        lambda w: without(step(w, "gate", "actions/checkout@")["with"], "fetch-depth"),
        "fetch-depth: 0",
    ),
}


UPGRADE_MUTATIONS = {
    "on-pull-requests": (lambda w: w["on"].update({"pull_request": None}), "never blocks a PR"),
    "on-push": (lambda w: w["on"].update({"push": None}), "never blocks a PR"),
    "not-by-hand": (lambda w: without(w["on"], "workflow_dispatch"), "schedule and workflow_dispatch only"),
    "no-schedule": (lambda w: without(w["on"], "schedule"), "schedule and workflow_dispatch only"),
    "write-permissions": (lambda w: w.update({"permissions": {"contents": "write"}}), "contents: read"),
    "uses-a-secret": (
        lambda w: w["jobs"]["upgrade-check"].update({"env": {"TOKEN": "${{ secrets.TOKEN }}"}}),
        "secrets",
    ),
    "python-3-11": (
        lambda w: step(w, "upgrade-check", "setup-python@")["with"].update({"python-version": "3.11"}),
        "Python 3.12",
    ),
    "no-timeout": (lambda w: without(w["jobs"]["upgrade-check"], "timeout-minutes"), "timeout-minutes"),
    "no-check": (
        lambda w: step(w, "upgrade-check", "--upgrade-check").update({"run": "./run_tests.sh"}),
        "must run ./run_tests.sh --upgrade-check",
    ),
    "report-only-when-green": (
        lambda w: without(step(w, "upgrade-check", "upload-artifact@"), "if"),
        "if: always()",
    ),
    "report-not-uploaded": (
        lambda w: step(w, "upgrade-check", "upload-artifact@")["with"].update({"path": "build/test-logs"}),
        "report.md",
    ),
    "upload-before-the-check": (
        lambda w: move(w, "upgrade-check", "upload-artifact@", to=0),
        "after the check",
    ),
}


def move(workflow: dict, job: str, marker: str, to: int) -> None:
    job_steps = workflow["jobs"][job]["steps"]
    job_steps.insert(to, job_steps.pop(job_steps.index(step(workflow, job, marker))))


MACOS_MUTATIONS = {
    "no-macos-job": (lambda w: without(w["jobs"], "macos"), "runs-on: macos-latest, found none"),
    "pinned-macos-image": (lambda w: w["jobs"]["macos"].update({"runs-on": "macos-14"}), "macos-latest"),
    "two-macos-jobs": (
        lambda w: w["jobs"].update({"macos-2": copy.deepcopy(w["jobs"]["macos"])}),
        "exactly one job",
    ),
    "python-3-11": (
        lambda w: step(w, "macos", "setup-python@")["with"].update({"python-version": "3.11"}),
        "macos: must set up Python 3.12",
    ),
    "no-pip-cache": (lambda w: without(step(w, "macos", "setup-python@")["with"], "cache"), "cache pip"),
    "no-timeout": (lambda w: without(w["jobs"]["macos"], "timeout-minutes"), "timeout-minutes"),
    "allowed-to-fail": (
        lambda w: w["jobs"]["macos"].update({"continue-on-error": True}),
        "fail the workflow",
    ),
    "only-on-push": (
        lambda w: w["jobs"]["macos"].update({"if": "github.event_name == 'push'"}),
        "run on every event",
    ),
    "hook-step-may-fail": (
        lambda w: step(w, "macos", "tests/hooks").update({"continue-on-error": True}),
        "no step may continue on error",
    ),
    "homebrew-bash": (
        lambda w: step(w, "macos", "/bin/bash").update({"run": "brew install bash"}),
        "put /bin/bash (3.2) first on PATH",
    ),
    "bash-version-unchecked": (
        lambda w: step(w, "macos", "BASH_VERSINFO").update({"run": "bash --version"}),
        "check that bash is 3.2",
    ),
    "bash-after-the-gate": (lambda w: move(w, "macos", "/bin/bash", to=-1), "first on PATH"),
    "full-gate-instead-of-fast": (
        lambda w: step(w, "macos", "./run_tests.sh").update({"run": "./run_tests.sh"}),
        "./run_tests.sh --fast",
    ),
    "no-hook-tests": (
        lambda w: step(w, "macos", "tests/hooks").update({"run": ".venv/bin/python -m pytest -q tests/dags"}),
        "tests/hooks",
    ),
    "hooks-before-the-venv": (
        lambda w: move(w, "macos", "tests/hooks", to=step_index(w, "macos", "./run_tests.sh")),
        "run them after",
    ),
}


def step_index(workflow: dict, job: str, marker: str) -> int:
    return workflow["jobs"][job]["steps"].index(step(workflow, job, marker))


MUTATIONS = (
    [(SYNC_WORKFLOW, sync_workflow_violations, rule, *broken) for rule, broken in SYNC_MUTATIONS.items()]
    + [(TEST_WORKFLOW, gate_workflow_violations, rule, *broken) for rule, broken in GATE_MUTATIONS.items()]
    + [(TEST_WORKFLOW, macos_job_violations, rule, *broken) for rule, broken in MACOS_MUTATIONS.items()]
    + [
        (UPGRADE_WORKFLOW, upgrade_check_workflow_violations, rule, *broken)
        for rule, broken in UPGRADE_MUTATIONS.items()
    ]
)


@pytest.mark.parametrize(
    "path, violations, rule, mutate, phrase",
    MUTATIONS,
    ids=[f"{m[0].stem}-{m[1].__name__.split('_')[0]}-{m[2]}" for m in MUTATIONS],
)
def test_rule_fires_on_a_workflow_breaking_it(path, violations, rule, mutate, phrase):
    workflow = copy.deepcopy(load(path.read_text()))
    mutate(workflow)
    assert any(phrase in violation for violation in violations(workflow)), rule


def test_common_rules_fire():
    workflow = {
        "on": {"pull_request_target": None},
        "jobs": {"build": {"steps": [{"run": 'echo "${{ github.event.pull_request.title }}"'}]}},
    }
    violations = common_violations(workflow)
    assert any("pull_request_target" in v for v in violations)
    assert any("injection" in v for v in violations)


@pytest.mark.parametrize(
    "line, phrase",
    [
        ("      - uses: actions/checkout@v4", "not pinned to a full commit SHA"),
        ("      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "must be @"),
        ("      - uses: actions/checkout@a26af69be951a213d495a4c3e4e4022e16d87065 # v4.2.2", "must be @"),
        (
            "      - uses: someone/action@a26af69be951a213d495a4c3e4e4022e16d87065 # v1",
            "not in REVIEWED_PINS",
        ),
    ],
)
def test_pin_rule_fires(line, phrase):
    assert any(phrase in violation for violation in pin_violations(line))


def run_head_check(tmp_path, head: str | None, deploy_older_commit: str):
    """The deploy job's head-of-main step, run by bash as the runner runs it, with `gh` answering `head`
    (the network edge: GitHub's API) for the one call it may make."""
    script = step(load(SYNC_WORKFLOW.read_text()), "deploy", "commits/main")["run"]
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir()
    answer = f'echo "{head}"' if head else 'echo "HTTP 502" >&2; exit 1'
    fake.write_text(
        '#!/bin/sh\n[ "$*" = "api repos/data-platform/tickit-dags/commits/main --jq .sha" ] || exit 3\n'
        + answer
        + "\n"
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REPOSITORY": "data-platform/tickit-dags",
        "GH_TOKEN": "token",
        "DEPLOY_OLDER_COMMIT": deploy_older_commit,  # what the step's expression renders to
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_head_of_main_is_deployed(tmp_path):
    result = run_head_check(tmp_path, "a" * 40, "false")

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_rerun_of_an_old_run_is_refused(tmp_path):
    result = run_head_check(tmp_path, "b" * 40, "false")

    assert result.returncode == 1
    assert (
        f"::error::this run's commit {'a' * 40} is no longer the head of main ({'b' * 40})" in result.stdout
    )


def test_an_older_commit_is_deployed_when_started_by_hand_with_the_input(tmp_path):
    result = run_head_check(tmp_path, "b" * 40, "true")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "::warning::deploying" in result.stdout


def test_an_unreadable_head_of_main_refuses(tmp_path):
    result = run_head_check(tmp_path, None, "true")

    assert result.returncode == 1
    assert "could not read the head of main" in result.stdout


def test_a_deploy_without_the_credentials_step_is_told_only_that():
    """The head-of-main check and the gate can only come too late when there is a credentials step to come
    before: without one, the message names what is missing, not an order the steps do not break."""
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    workflow["jobs"]["deploy"]["steps"].remove(step(workflow, "deploy", "configure-aws-credentials@"))
    assert sync_workflow_violations(workflow) == [
        "deploy must assume a role (OIDC) named by a repository variable"
    ]


def test_a_pin_violation_names_the_line_it_is_on():
    text = "steps:\n  - uses: ./local-action\n      - uses: actions/checkout@v4\n"
    assert pin_violations(text) == ["line 3: actions/checkout@v4 is not pinned to a full commit SHA"]


def test_a_pin_s_version_is_the_first_word_of_its_comment():
    sha, version = REVIEWED_PINS["actions/checkout"]

    assert pin_violations(f"      - uses: actions/checkout@{sha} # {version} (latest)") == []
    assert pin_violations(f"      - uses: actions/checkout@{sha} # latest {version}") == [
        f"line 1: actions/checkout must be @{sha} # {version} (got @{sha} # latest {version})"
    ]


@pytest.mark.parametrize(
    "needs, violation",
    [("test", False), (["lint", "test"], False), ("tests", True), (["tests"], True)],
)
def test_the_deploy_needs_the_test_job_by_its_exact_name(needs, violation):
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    workflow["jobs"]["deploy"]["needs"] = needs

    assert ("deploy must need the test job" in sync_workflow_violations(workflow)) is violation


def test_the_gate_s_first_checkout_is_the_one_that_needs_the_history():
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    gate_steps = workflow["jobs"]["gate"]["steps"]
    checkout = step(workflow, "gate", "actions/checkout@")
    other = {"uses": checkout["uses"], "with": {"repository": "data-platform/docs", "path": "docs-site"}}
    message = "gate: the checkout needs fetch-depth: 0 (the pull-request view reads the base commit)"

    gate_steps.insert(gate_steps.index(checkout) + 1, other)
    assert message not in gate_workflow_violations(workflow)

    gate_steps.remove(other)
    gate_steps.insert(gate_steps.index(checkout), other)
    assert message in gate_workflow_violations(workflow)


GATE_AFTER_CREDENTIALS = (
    "deploy must run ./run_tests.sh --fast before the AWS credentials step, then "
    "./sync_dags.sh --skip-gate-run (no test runs with the deploy role's session)"
)


def test_the_first_credentials_step_is_the_one_the_head_check_and_the_gate_must_come_before():
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    deploy_steps = workflow["jobs"]["deploy"]["steps"]
    first = copy.deepcopy(step(workflow, "deploy", "configure-aws-credentials@"))
    first["with"]["role-session-name"] = "early"
    deploy_steps.insert(0, first)

    assert sync_workflow_violations(workflow) == [
        "deploy must assume a role (OIDC) named by a repository variable",
        "deploy must refuse a commit that is no longer the head of main (a re-run of an old run), "
        "before the AWS credentials step (step id head-of-main)",
        GATE_AFTER_CREDENTIALS,
    ]


def test_a_second_test_run_after_the_credentials_step_is_refused():
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    deploy_steps = workflow["jobs"]["deploy"]["steps"]
    deploy_steps.insert(-1, {"run": "./run_tests.sh --fast"})

    assert sync_workflow_violations(workflow) == [GATE_AFTER_CREDENTIALS]


def test_a_second_sync_without_skip_gate_run_is_refused_for_both_reasons():
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    deploy_steps = workflow["jobs"]["deploy"]["steps"]
    deploy_steps.append(
        {"run": './sync_dags.sh --target "s3://$MWAA_BUCKET" --environment "$MWAA_ENVIRONMENT"'}
    )

    assert sync_workflow_violations(workflow) == [
        'deploy must run ./sync_dags.sh --target "s3://..." --environment ...',
        GATE_AFTER_CREDENTIALS,
    ]


def test_the_upgrade_check_needs_exactly_one_job_and_names_those_it_found():
    workflow = copy.deepcopy(load(UPGRADE_WORKFLOW.read_text()))
    workflow["jobs"]["report"] = copy.deepcopy(workflow["jobs"]["upgrade-check"])

    assert upgrade_check_workflow_violations(workflow) == [
        "needs exactly one job, found ['report', 'upgrade-check']"
    ]
    workflow["jobs"] = {}
    assert upgrade_check_workflow_violations(workflow) == ["needs exactly one job, found none"]


BASH_FIRST = (
    "macos: before the tests, put /bin/bash (3.2) first on PATH (ln -s /bin/bash DIR/bash; "
    'echo DIR >> "$GITHUB_PATH") and check that bash is 3.2'
)


def merge_into(workflow: dict, marker: str, into: str) -> None:
    """Append the script of the macOS step holding `marker` to the step holding `into`, then drop it."""
    moved = step(workflow, "macos", marker)
    step(workflow, "macos", into)["run"] += "\n" + moved["run"]
    workflow["jobs"]["macos"]["steps"].remove(moved)


def test_bash_is_checked_in_a_step_after_the_one_that_puts_it_on_path():
    """A PATH change through $GITHUB_PATH applies from the next step on: a check in the same step sees the
    runner's bash."""
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    merge_into(workflow, "BASH_VERSINFO", into="/bin/bash")

    assert macos_job_violations(workflow) == [BASH_FIRST]


def test_the_bash_check_is_a_step_of_its_own_before_the_tests():
    """Within one step the order of its lines is not read: the check must be a step before the tests."""
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    check = step(workflow, "macos", "BASH_VERSINFO")
    step(workflow, "macos", "./run_tests.sh")["run"] = check["run"] + "\n./run_tests.sh --fast"
    workflow["jobs"]["macos"]["steps"].remove(check)

    assert macos_job_violations(workflow) == [BASH_FIRST]


def test_one_step_running_the_fast_gate_then_the_hook_tests_is_accepted():
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    merge_into(workflow, "tests/hooks", into="./run_tests.sh")

    assert macos_job_violations(workflow) == []


HEAD_CHECK_MISSING = (
    "deploy must refuse a commit that is no longer the head of main (a re-run of an old run), "
    "before the AWS credentials step (step id head-of-main)"
)


@pytest.mark.parametrize(
    "replace, by",
    [
        ('"repos/$GITHUB_REPOSITORY/commits/main"', '"repos/$GITHUB_REPOSITORY/branches"'),
        ("$GITHUB_SHA", "$GITHUB_REF_NAME"),  # compares main with the branch name, not this run's commit
    ],
    ids=["not-reading-main", "not-comparing-the-run-s-commit"],
)
def test_a_head_check_that_reads_main_or_compares_this_run_s_commit_alone_is_refused(replace, by):
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    head_check = step(workflow, "deploy", "commits/main")
    assert replace in head_check["run"]
    head_check["run"] = head_check["run"].replace(replace, by)

    assert sync_workflow_violations(workflow) == [HEAD_CHECK_MISSING]


def test_a_sync_without_its_environment_is_refused():
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    sync = step(workflow, "deploy", "./sync_dags.sh")
    sync["run"] = sync["run"].replace('--environment "$MWAA_ENVIRONMENT"', "")

    assert sync_workflow_violations(workflow) == [
        'deploy must run ./sync_dags.sh --target "s3://..." --environment ...'
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda w: step(w, "deploy", "configure-aws-credentials@")["with"].update(
            {"aws-access-key-id": "${{ vars.AWS_ACCESS_KEY_ID }}"}
        ),
        lambda w: w["jobs"]["deploy"]["env"].update({"TOKEN": "${{ secrets.TOKEN }}"}),
    ],
    ids=["a-key-input-without-secrets", "secrets-without-a-key-input"],
)
def test_a_key_input_or_a_secret_alone_is_refused(mutate):
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    mutate(workflow)

    assert sync_workflow_violations(workflow) == [
        "no long-lived keys or secrets: the role session comes from OIDC"
    ]


def test_the_pull_request_view_in_the_gate_s_own_step_is_refused():
    """A failing ./run_tests.sh ends its step's script: the view must be a later step of its own."""
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    view = step(workflow, "gate", "gate.github_report")
    gate = step(workflow, "gate", "./run_tests.sh")
    gate.update({"if": view["if"], "run": gate["run"] + "\n" + view["run"]})
    workflow["jobs"]["gate"]["steps"].remove(view)

    assert gate_workflow_violations(workflow) == [
        "gate: after ./run_tests.sh, run the pull-request view: python -m gate.github_report --base"
    ]
