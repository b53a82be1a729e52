"""The rules the GitHub workflows must follow, as functions returning violations (empty list = compliant).

Kept apart from the tests so each rule can be shown to fire on a workflow that breaks it.
"""

from __future__ import annotations

import re

import yaml

import repository

WORKFLOWS = repository.WORKFLOWS

# Every third-party action and the commit it is pinned to. A new action or version needs its SHA checked
# against the action's release tag, then an entry here.
REVIEWED_PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "aws-actions/configure-aws-credentials": ("b47578312673ae6fa5b5096b330d9fbac3d116df", "v4.2.1"),
}
USES_LINE = re.compile(r"^\s*(?:-\s*)?uses:\s*(?P<ref>\S+)\s*(?:#\s*(?P<comment>.*))?$")
SHA = re.compile(r"[0-9a-f]{40}")
MAIN_ONLY = "github.ref == 'refs/heads/main'"
HEAD_CHECK_ID = "head-of-main"
DISPATCH_ONLY = "github.event_name == 'workflow_dispatch'"


def load(text: str) -> dict:
    workflow = yaml.safe_load(text)
    if True in workflow:  # YAML 1.1 reads the key `on` as the boolean true
        workflow["on"] = workflow.pop(True)
    return workflow


def triggers(workflow: dict) -> dict:
    on = workflow.get("on") or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def steps(workflow: dict):
    for job_id, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            yield job_id, step


def pin_violations(text: str) -> list[str]:
    """Each `uses:` of another repository is a reviewed full commit SHA with its version in a comment."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = USES_LINE.match(line)
        if not match or match["ref"].startswith("./"):
            continue
        action, _, ref = match["ref"].partition("@")
        comment = (match["comment"] or "").strip()
        if not SHA.fullmatch(ref):
            found.append(f"line {number}: {match['ref']} is not pinned to a full commit SHA")
        elif action not in REVIEWED_PINS:
            found.append(f"line {number}: {action} is not in REVIEWED_PINS (check its SHA, then add it)")
        elif REVIEWED_PINS[action] != (ref, comment.split()[0] if comment else ""):
            sha, version = REVIEWED_PINS[action]
            found.append(f"line {number}: {action} must be @{sha} # {version} (got @{ref} # {comment})")
    return found


def common_violations(workflow: dict) -> list[str]:
    """Rules for every workflow: no pull_request_target, no expression expanded inside a shell script."""
    found = []
    if "pull_request_target" in triggers(workflow):
        found.append("pull_request_target runs fork code with write access and secrets: use pull_request")
    for job_id, step in steps(workflow):
        if "${{" in step.get("run", ""):
            found.append(
                f"{job_id}: `run:` expands ${{{{ }}}} in the script (injection): pass it through env:"
            )
    return found


def gate_workflow_violations(workflow: dict) -> list[str]:
    found = []
    on = triggers(workflow)
    for event in ("pull_request", "push"):
        if event not in on:
            found.append(f"does not run on {event}")
    if workflow.get("permissions") != {"contents": "read"}:
        found.append(f"permissions must be exactly contents: read, not {workflow.get('permissions')}")
    if "secrets" in yaml.safe_dump(workflow):
        found.append("uses secrets: pull requests from forks get none")
    gate_steps = workflow.get("jobs", {}).get("gate", {}).get("steps", [])
    found += python_violations("gate", gate_steps)
    scripts = "\n".join(s.get("run", "") for s in gate_steps)
    if not re.search(r"^\./run_tests\.sh\s*$", scripts, re.M):
        found.append("must run ./run_tests.sh (all suites, no --fast)")
    if "postgresql-15" not in scripts:
        found.append("must install PostgreSQL 15 for the slow SQL tests")
    found += pull_request_view_violations(gate_steps)
    return found


def pull_request_view_violations(job_steps: list[dict]) -> list[str]:
    """The gate job ends with the pull-request view (tools/gate/github_report.py): after the gate, also when
    it fails, against the base commit, from a checkout with the history that holds that commit."""
    found = []
    checkouts = [s for s in job_steps if s.get("uses", "").startswith("actions/checkout@")]
    if not checkouts or checkouts[0].get("with", {}).get("fetch-depth") != 0:
        found.append("gate: the checkout needs fetch-depth: 0 (the pull-request view reads the base commit)")
    gate = first_step(job_steps, r"^\./run_tests\.sh\s*$")
    view = first_step(job_steps, r"-m gate\.github_report --base ")
    if gate is not None and "GATE_BASE_REF" not in job_steps[gate].get("env", {}):
        found.append(
            "gate: ./run_tests.sh needs env GATE_BASE_REF (the base commit the schedule review uses)"
        )
    if view is None or gate is None or view <= gate:  # in the gate's step, a failing gate ends the script
        found.append(
            "gate: after ./run_tests.sh, run the pull-request view: python -m gate.github_report --base"
        )
    elif not re.search(r"!cancelled\(\)|always\(\)", str(job_steps[view].get("if", ""))):
        found.append(
            "gate: the pull-request view must run even when the gate fails (if: ${{ !cancelled() }})"
        )
    return found


def python_violations(job_id: str, job_steps: list[dict]) -> list[str]:
    found = []
    pythons = [s.get("with", {}) for s in job_steps if s.get("uses", "").startswith("actions/setup-python@")]
    if [p.get("python-version") for p in pythons] != ["3.12"]:
        found.append(f"{job_id}: must set up Python 3.12 (MWAA's) exactly once")
    if not all(p.get("cache") == "pip" for p in pythons):
        found.append(f"{job_id}: setup-python must cache pip")
    return found


def first_step(job_steps: list[dict], pattern: str) -> int | None:
    """Index of the first step whose script has a line matching `pattern`."""
    for index, step in enumerate(job_steps):
        if re.search(pattern, step.get("run", ""), re.M):
            return index
    return None


def macos_job_violations(workflow: dict) -> list[str]:
    """The laptop job: the fast gate and the git hooks on macOS, with /bin/bash 3.2 first on PATH."""
    macs = {
        job_id: job
        for job_id, job in workflow.get("jobs", {}).items()
        if str(job.get("runs-on", "")).startswith("macos")
    }
    if [job.get("runs-on") for job in macs.values()] != ["macos-latest"]:
        return [f"needs exactly one job on runs-on: macos-latest, found {sorted(macs) or 'none'}"]
    ((job_id, job),) = macs.items()
    found = python_violations(job_id, job.get("steps", []))
    if not job.get("timeout-minutes"):
        found.append(f"{job_id}: needs timeout-minutes")
    if job.get("continue-on-error") or "if" in job:
        found.append(
            f"{job_id}: must run on every event and fail the workflow (no if:, no continue-on-error)"
        )
    job_steps = job.get("steps", [])
    if any(step.get("continue-on-error") for step in job_steps):
        found.append(f"{job_id}: no step may continue on error")
    bash = first_step(job_steps, r"ln -s /bin/bash .*\n.*>>\s*\"\$GITHUB_PATH\"")
    checked = first_step(job_steps, r"BASH_VERSINFO.*3\.2")
    gate = first_step(job_steps, r"^\./run_tests\.sh --fast\s*$")
    hooks = first_step(job_steps, r"^\.venv/bin/python -m pytest .*\btests/hooks\b")
    if gate is None:
        found.append(f"{job_id}: must run ./run_tests.sh --fast (it installs the pins into .venv)")
    if hooks is None:
        found.append(f"{job_id}: must run the hook tests: .venv/bin/python -m pytest -q tests/hooks")
    tests = [index for index in (gate, hooks) if index is not None]
    if bash is None or checked is None or not all(bash < checked < index for index in tests):
        found.append(
            f"{job_id}: before the tests, put /bin/bash (3.2) first on PATH (ln -s /bin/bash DIR/bash; "
            'echo DIR >> "$GITHUB_PATH") and check that bash is 3.2'
        )
    elif gate is not None and hooks is not None and hooks < gate:
        found.append(
            f"{job_id}: the hook tests need the .venv that ./run_tests.sh --fast builds: run them after"
        )
    return found


def sync_workflow_violations(workflow: dict) -> list[str]:
    found = []
    on = triggers(workflow)
    if set(on) != {"push", "workflow_dispatch"}:
        found.append(f"must run on push to main and workflow_dispatch only, not {sorted(on)}")
    elif (on["push"] or {}).get("branches") != ["main"]:
        found.append("push trigger must be limited to branches: [main]")
    if workflow.get("permissions") != {"contents": "read"}:
        found.append("workflow permissions must be contents: read (id-token only on the deploy job)")
    concurrency = workflow.get("concurrency") or {}
    if not concurrency.get("group") or concurrency.get("cancel-in-progress") is not False:
        found.append("needs a concurrency group with cancel-in-progress: false (queue, never cancel a sync)")
    jobs = workflow.get("jobs", {})
    test, deploy = jobs.get("test", {}), jobs.get("deploy", {})
    if test.get("uses") != "./.github/workflows/test_dags.yml":
        found.append("the test job must run the test workflow (./.github/workflows/test_dags.yml)")
    needs = deploy.get("needs")
    if "test" not in ([needs] if isinstance(needs, str) else needs or []):
        found.append("deploy must need the test job")
    condition = str(deploy.get("if", ""))
    if MAIN_ONLY not in condition or "!github.event.repository.fork" not in condition:
        found.append(f"deploy must run only on main and never in a fork: if: {MAIN_ONLY} && ...")
    if deploy.get("permissions") != {"id-token": "write", "contents": "read"}:
        found.append("deploy permissions must be exactly id-token: write, contents: read")
    if deploy.get("environment") != "production":
        found.append("deploy must use the GitHub environment production")
    deploy_steps = deploy.get("steps", [])
    checkouts = [s for s in deploy_steps if s.get("uses", "").startswith("actions/checkout@")]
    if [s.get("with", {}).get("ref") for s in checkouts] != ["${{ github.sha }}"]:
        found.append("deploy must check out ${{ github.sha }}: the commit the test job tested")
    credentials = [
        s for s in deploy_steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    inputs = credentials[0].get("with", {}) if len(credentials) == 1 else {}
    if not str(inputs.get("role-to-assume", "")).startswith("${{ vars."):
        found.append("deploy must assume a role (OIDC) named by a repository variable")
    if {"aws-access-key-id", "aws-secret-access-key"} & set(inputs) or "secrets" in yaml.safe_dump(workflow):
        found.append("no long-lived keys or secrets: the role session comes from OIDC")
    sync = [s.get("run", "") for s in deploy_steps if "./sync_dags.sh" in s.get("run", "")]
    if len(sync) != 1 or '--target "s3://' not in sync[0] or "--environment" not in sync[0]:
        found.append('deploy must run ./sync_dags.sh --target "s3://..." --environment ...')
    gate = [i for i, s in enumerate(deploy_steps) if s.get("run", "").strip() == "./run_tests.sh --fast"]
    # Without a credentials step nothing can come after it (the missing role is its own message).
    first_credentials = deploy_steps.index(credentials[0]) if credentials else len(deploy_steps)
    head_checks = [i for i, s in enumerate(deploy_steps) if s.get("id") == HEAD_CHECK_ID]
    head_check = deploy_steps[head_checks[0]] if len(head_checks) == 1 else {}
    if (
        not head_check
        or "commits/main" not in head_check.get("run", "")
        or "$GITHUB_SHA" not in head_check.get("run", "")
        or head_checks[0] > first_credentials
    ):
        found.append(
            "deploy must refuse a commit that is no longer the head of main (a re-run of an old run), "
            f"before the AWS credentials step (step id {HEAD_CHECK_ID})"
        )
    older = ((on.get("workflow_dispatch") or {}).get("inputs") or {}).get("deploy_older_commit") or {}
    override = str(head_check.get("env", {}).get("DEPLOY_OLDER_COMMIT", ""))
    if older.get("type") != "boolean" or older.get("default") is not False or DISPATCH_ONLY not in override:
        found.append(
            "only a run started by hand deploys an older commit: workflow_dispatch input deploy_older_commit "
            f"(boolean, default false), honoured only when {DISPATCH_ONLY}"
        )
    # Every test run before the credentials, every sync without a test run of its own.
    if not gate or gate[-1] > first_credentials or not sync or any("--skip-gate-run" not in s for s in sync):
        found.append(
            "deploy must run ./run_tests.sh --fast before the AWS credentials step, then "
            "./sync_dags.sh --skip-gate-run (no test runs with the deploy role's session)"
        )
    return found


def upgrade_check_workflow_violations(workflow: dict) -> list[str]:
    """The upgrade check: weekly and by hand only (it never blocks a pull request), read-only, no secrets,
    ./run_tests.sh --upgrade-check on MWAA's Python, and its report uploaded whatever the verdict."""
    found = []
    on = triggers(workflow)
    if set(on) != {"schedule", "workflow_dispatch"}:
        found.append(f"must run on schedule and workflow_dispatch only (never blocks a PR), not {sorted(on)}")
    elif not on["schedule"]:
        found.append("schedule needs a cron entry (weekly)")
    if workflow.get("permissions") != {"contents": "read"}:
        found.append(f"permissions must be exactly contents: read, not {workflow.get('permissions')}")
    if "secrets" in yaml.safe_dump(workflow):
        found.append("uses secrets: the check needs none")
    jobs = workflow.get("jobs", {})
    if len(jobs) != 1:
        return found + [f"needs exactly one job, found {sorted(jobs) or 'none'}"]
    ((job_id, job),) = jobs.items()
    job_steps = job.get("steps", [])
    found += python_violations(job_id, job_steps)
    if not job.get("timeout-minutes"):
        found.append(f"{job_id}: needs timeout-minutes")
    check = first_step(job_steps, r"^\./run_tests\.sh --upgrade-check\b")
    uploads = [i for i, s in enumerate(job_steps) if s.get("uses", "").startswith("actions/upload-artifact@")]
    if check is None:
        found.append(f"{job_id}: must run ./run_tests.sh --upgrade-check")
    paths = str(job_steps[uploads[0]].get("with", {}).get("path", "")) if len(uploads) == 1 else ""
    if (
        len(uploads) != 1
        or "report.md" not in paths
        or job_steps[uploads[0]].get("if") != "always()"
        or check is None
        or uploads[0] < check
    ):
        found.append(f"{job_id}: after the check, upload build/upgrade-check/*/report.md with if: always()")
    return found
