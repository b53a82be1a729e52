"""The GitHub workflows: valid against the workflow schema (offline) and true to the deploy rules."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from tests.github.workflow_rules import (
    REVIEWED_PINS,
    WORKFLOWS,
    common_violations,
    gate_workflow_violations,
    load,
    pin_violations,
    sync_workflow_violations,
)

TEST_WORKFLOW = WORKFLOWS / "test_dags.yml"
SYNC_WORKFLOW = WORKFLOWS / "sync_dags.yml"
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.y*ml"))


def test_both_workflows_exist():
    assert {TEST_WORKFLOW, SYNC_WORKFLOW} <= set(ALL_WORKFLOWS)


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path):
    # check-jsonschema ships the schema (schemastore's github-workflow.json): no network needed.
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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


def test_the_test_workflow_can_be_called_by_the_deploy():
    assert "workflow_call" in load(TEST_WORKFLOW.read_text())["on"]


def test_the_sync_workflow_follows_its_rules():
    assert sync_workflow_violations(load(SYNC_WORKFLOW.read_text())) == []


def test_every_reviewed_pin_is_used():
    text = "".join(path.read_text() for path in ALL_WORKFLOWS)
    assert [action for action, (sha, _) in REVIEWED_PINS.items() if f"{action}@{sha}" not in text] == []


# Each rule, shown to fire: (what breaks it, a phrase of the violation it must produce).
def _set(path: tuple, value):
    def mutate(workflow):
        target = workflow
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


_DELETE = object()

SYNC_MUTATIONS = {
    "cancel-in-progress": (_set(("concurrency", "cancel-in-progress"), True), "cancel-in-progress: false"),
    "no-concurrency": (_set(("concurrency",), _DELETE), "concurrency group"),
    "deploy-without-needs": (_set(("jobs", "deploy", "needs"), _DELETE), "need the test job"),
    "deploy-on-any-branch": (_set(("jobs", "deploy", "if"), "always()"), "only on main"),
    "deploy-in-forks": (_set(("jobs", "deploy", "if"), "github.ref == 'refs/heads/main'"), "never in a fork"),
    "pull-request-trigger": (_set(("on", "pull_request"), None), "push to main and workflow_dispatch only"),
    "push-any-branch": (_set(("on", "push"), None), "branches: [main]"),
    "write-all": (_set(("permissions",), "write-all"), "contents: read"),
    "deploy-without-oidc": (_set(("jobs", "deploy", "permissions"), {"contents": "read"}), "id-token: write"),
    "no-environment": (_set(("jobs", "deploy", "environment"), _DELETE), "environment production"),
    "deploy-checks-out-main": (_set(("jobs", "deploy", "steps", 1, "with", "ref"), "main"), "github.sha"),
    "static-keys": (
        _set(("jobs", "deploy", "steps", 3, "with", "aws-secret-access-key"), "${{ secrets.AWS_SECRET }}"),
        "no long-lived keys",
    ),
    "no-sync": (
        _set(("jobs", "deploy", "steps", 4, "run"), "aws s3 sync dags s3://bucket/dags"),
        "sync_dags.sh",
    ),
}


@pytest.mark.parametrize("rule", sorted(SYNC_MUTATIONS))
def test_sync_rule_fires_on_a_workflow_breaking_it(rule):
    mutate, phrase = SYNC_MUTATIONS[rule]
    workflow = copy.deepcopy(load(SYNC_WORKFLOW.read_text()))
    mutate(workflow)
    assert any(phrase in violation for violation in sync_workflow_violations(workflow))


GATE_MUTATIONS = {
    "no-pull-request": (_set(("on", "pull_request"), _DELETE), "pull_request"),
    "write-permissions": (_set(("permissions",), {"contents": "write"}), "contents: read"),
    "uses-a-secret": (_set(("jobs", "gate", "env"), {"TOKEN": "${{ secrets.TOKEN }}"}), "secrets"),
    "python-3-11": (_set(("jobs", "gate", "steps", 1, "with", "python-version"), "3.11"), "Python 3.12"),
    "no-pip-cache": (_set(("jobs", "gate", "steps", 1, "with", "cache"), _DELETE), "cache pip"),
    "fast-only": (_set(("jobs", "gate", "steps", 3, "run"), "./run_tests.sh --fast"), "all suites"),
    "no-postgres": (_set(("jobs", "gate", "steps", 2, "run"), "true"), "PostgreSQL 15"),
}


@pytest.mark.parametrize("rule", sorted(GATE_MUTATIONS))
def test_gate_rule_fires_on_a_workflow_breaking_it(rule):
    mutate, phrase = GATE_MUTATIONS[rule]
    workflow = copy.deepcopy(load(TEST_WORKFLOW.read_text()))
    mutate(workflow)
    assert any(phrase in violation for violation in gate_workflow_violations(workflow))


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
