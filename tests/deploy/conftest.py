"""Deploy fixtures: a small project in a real git repository, and a real S3 API (moto's server) to sync to."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.deploy.support import PROJECT_FILES, CountingS3, RecordingS3Server, make_repo


@pytest.fixture
def project(tmp_path) -> Path:
    """A small lakehouse-shaped project (dags/, sql/, plugins/, requirements/) in a fresh git repository."""
    return make_repo(tmp_path / "project", PROJECT_FILES)


@pytest.fixture(scope="session")
def s3_server() -> RecordingS3Server:
    """An in-process moto S3 server on a free port, recording the requests it receives in order."""
    server = RecordingS3Server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(s3_server) -> str:
    return s3_server.endpoint


@pytest.fixture
def aws_env(monkeypatch, s3_endpoint):
    """Fake credentials and the endpoint, for this test only (boto3's normal configuration reads them)."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # injected network failures retry once, not for seconds
    return s3_endpoint


@pytest.fixture
def s3(aws_env) -> CountingS3:
    return CountingS3()


@pytest.fixture
def bucket(s3) -> str:
    """A fresh versioned bucket (as MWAA requires)."""
    name = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.client.create_bucket(Bucket=name)
    s3.client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def mwaa(aws_env, s3_server):
    """An MWAA client under botocore's Stubber (moto has no MWAA): (client, stubber, names of the calls)."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.session.Session().client("mwaa")
    calls = []

    def record(model, params, **_):
        calls.append(model.name)
        s3_server.requests.append(("MWAA", model.name, "", {}))  # into the S3 server's timeline

    client.meta.events.register("before-parameter-build.mwaa.*", record)
    with Stubber(client) as stubber:
        yield client, stubber, calls
        stubber.assert_no_pending_responses()
