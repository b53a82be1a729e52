"""The deployer role's IAM documents: valid JSON, least privilege, trust limited to the production deploy."""

from __future__ import annotations

import json

import pytest

import repository
from deploy.bundle import PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY
from deploy.releases import RELEASES_PREFIX
from deploy.targets import LOCK_NAME

DAGS_OBJECTS = "arn:aws:s3:::BUCKET/dags/*"
LOCK_OBJECT = f"arn:aws:s3:::BUCKET/{LOCK_NAME}"
RELEASE_RECORDS = f"arn:aws:s3:::BUCKET/{RELEASES_PREFIX}*"
SUBJECT = "repo:OWNER/REPO:environment:production:ref:refs/heads/main"
ENVIRONMENT_FILES = {f"arn:aws:s3:::BUCKET/{key}" for key in (PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY)}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def deployer(repo_root) -> dict:
    return json.loads((repository.IAM / "deployer_policy.json").read_text())


@pytest.fixture(scope="module")
def trust(repo_root) -> dict:
    return json.loads((repository.IAM / "oidc_trust_policy.json").read_text())


def grants(policy: dict) -> dict[str, set[str]]:
    """action -> resources it is allowed on."""
    allowed: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        for action in as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(as_list(statement["Resource"]))
    return allowed


@pytest.mark.parametrize("name", ["deployer_policy.json", "oidc_trust_policy.json"])
def test_policy_documents_parse_with_the_current_version(repo_root, name):
    document = json.loads((repository.IAM / name).read_text())
    assert document["Version"] == "2012-10-17"
    assert document["Statement"]


def test_no_wildcard_action_or_resource(deployer):
    statements = deployer["Statement"]
    assert statements
    for statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, statement["Sid"]
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{statement['Sid']}: wildcard action {action}"
        for resource in as_list(statement["Resource"]):
            # the wildcards allowed: the objects under dags/ and .releases/, which the sync owns
            assert "*" not in resource or resource in (
                DAGS_OBJECTS,
                RELEASE_RECORDS,
            ), f"{statement['Sid']}: wildcard {resource}"


def test_deployer_can_do_exactly_what_the_sync_needs(deployer):
    assert grants(deployer) == {
        "s3:ListBucket": {"arn:aws:s3:::BUCKET"},
        "s3:GetBucketVersioning": {"arn:aws:s3:::BUCKET"},
        "s3:GetObject": {DAGS_OBJECTS, LOCK_OBJECT, RELEASE_RECORDS} | ENVIRONMENT_FILES,
        "s3:PutObject": {DAGS_OBJECTS, LOCK_OBJECT, RELEASE_RECORDS} | ENVIRONMENT_FILES,
        "s3:DeleteObject": {DAGS_OBJECTS, LOCK_OBJECT},
        "s3:DeleteObjectVersion": {LOCK_OBJECT},  # releases its own lock version, never a newer holder's
        "s3:GetObjectVersion": {DAGS_OBJECTS} | ENVIRONMENT_FILES,  # a rollback copies old versions
        "airflow:GetEnvironment": {"arn:aws:airflow:REGION:ACCOUNT_ID:environment/ENVIRONMENT"},
        "airflow:UpdateEnvironment": {"arn:aws:airflow:REGION:ACCOUNT_ID:environment/ENVIRONMENT"},
        # the REST API (verification, Variables) as Airflow's Op role: DAGs, import errors, Variables
        "airflow:InvokeRestApi": {"arn:aws:airflow:REGION:ACCOUNT_ID:role/ENVIRONMENT/Op"},
    }


def test_listing_is_limited_to_the_managed_prefixes(deployer):
    (listing,) = [s for s in deployer["Statement"] if "s3:ListBucket" in as_list(s["Action"])]
    prefixes = set(listing["Condition"]["StringLike"]["s3:prefix"])
    assert prefixes == {
        "dags/",
        "dags/*",
        PLUGINS_KEY,
        REQUIREMENTS_KEY,
        STARTUP_KEY,
        RELEASES_PREFIX,
        RELEASES_PREFIX + "*",
    }


def test_trust_is_limited_to_the_production_environment_on_main(trust):
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com"
    }
    # StringEquals only: a StringLike with wildcards would let other branches, PRs or repositories in.
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            # environment AND branch: the subject GitHub issues to the deploy job (`environment: production`)
            # once the repository's subject template includes the ref (tools/deploy/iam/README.md)
            "token.actions.githubusercontent.com:sub": SUBJECT,
        }
    }


def test_trust_subject_matches_the_deploy_job_environment(trust, repo_root):
    from gate.workflow_rules import load

    deploy = load((repo_root / ".github/workflows/sync_dags.yml").read_text())["jobs"]["deploy"]
    subject = trust["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subject == f"repo:OWNER/REPO:environment:{deploy['environment']}:ref:refs/heads/main"


def test_the_readme_sets_the_subject_template_the_trust_policy_expects(repo_root):
    """The trust subject carries the ref only when the repository's template includes it: README says how."""
    readme = (repository.IAM / "README.md").read_text()
    assert SUBJECT in readme
    assert (
        "gh api -X PUT repos/OWNER/REPO/actions/oidc/customization/sub -F use_default=false "
        "-f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' -f 'include_claim_keys[]=ref'"
    ) in readme
