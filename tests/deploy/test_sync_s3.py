"""The sync against a real S3 API (moto's server, versioned bucket): incremental, scoped, failure-safe."""

from __future__ import annotations

import hashlib
import io
import time

import botocore.exceptions
import pytest
from tests.deploy.support import bucket_contents, git, is_release_record, managed_contents

from deploy import bundle as bundling
from deploy.apply import ApplyError
from deploy.cli import sync
from deploy.targets import S3Target, TargetError


def run_sync(project, s3, bucket, prefix="", dry_run=False):
    s3.reset()
    return sync(
        project, S3Target(f"s3://{bucket}/{prefix}", client=s3.client), dry_run, io.StringIO(), io.StringIO()
    )


def expected_objects(project, prefix=""):
    return {prefix + key: item.data for key, item in bundling.build(project).items()}


def test_first_sync_uploads_the_whole_bundle_with_its_sha256(project, s3, bucket):
    plan, result = run_sync(project, s3, bucket)

    bundle = bundling.build(project)
    assert sorted(result.uploaded) == sorted(bundle) and len(bundle) == 7
    assert s3.sent["PutObject"] == len(bundle) + 1  # the bundle, then its release record
    assert [key for key in s3.put_keys if is_release_record(key)] == [".releases/000001.json"]
    assert managed_contents(s3.client, bucket) == expected_objects(project)
    head = s3.client.head_object(Bucket=bucket, Key="dags/sql/redshift/ddl/users.sql")
    assert (
        head["Metadata"]["sha256"]
        == hashlib.sha256((project / "sql/redshift/ddl/users.sql").read_bytes()).hexdigest()
    )


def test_second_sync_uploads_nothing(project, s3, bucket):
    run_sync(project, s3, bucket)
    plan, result = run_sync(project, s3, bucket)

    assert result is None and plan.empty
    assert len(plan.unchanged) == len(bundling.build(project))
    # Only reads: the listings of the plan (every listed ETag is the MD5 of the local file: no HEAD), then the
    # release records and the live one, which describes the target (so nothing is recorded either)
    assert dict(s3.sent) == {"ListObjectsV2": 5, "GetObject": 1}


def put_multipart(client, bucket: str, key: str, data: bytes) -> None:
    """`data` as one multipart upload with our sha256 metadata: its ETag is no MD5 (nor is an SSE-KMS one),
    so only the sha256 tells its content."""
    upload = client.create_multipart_upload(
        Bucket=bucket, Key=key, Metadata={"sha256": hashlib.sha256(data).hexdigest()}
    )
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=data)
    client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert "-" in client.head_object(Bucket=bucket, Key=key)["ETag"]


def test_an_object_whose_etag_is_not_an_md5_is_compared_by_its_stored_sha256(project, s3, bucket):
    run_sync(project, s3, bucket)
    key = "dags/redshift__01_first.py"
    put_multipart(s3.client, bucket, key, (project / key).read_bytes())

    plan, result = run_sync(project, s3, bucket)

    assert result is None and plan.empty
    assert s3.sent["HeadObject"] == 1 and s3.sent["PutObject"] == 0


def test_a_same_size_edit_of_an_object_compared_by_its_sha256_is_uploaded(project, s3, bucket):
    """The size matches and the ETag is no MD5: only comparing the stored sha256 sees the edit."""
    run_sync(project, s3, bucket)
    key = "dags/redshift__01_first.py"
    put_multipart(s3.client, bucket, key, (project / key).read_bytes())
    (project / key).write_text("FIRST = 2\n")
    assert len((project / key).read_bytes()) == s3.client.head_object(Bucket=bucket, Key=key)["ContentLength"]

    plan, result = run_sync(project, s3, bucket)

    assert [item.key for item in plan.changed] == [key] and result.uploaded == [key]
    assert bucket_contents(s3.client, bucket)[key] == b"FIRST = 2\n"


@pytest.mark.parametrize(
    "text, heads",
    [
        ("SECOND = 3\n", 1),  # same size: only the ETag differs, and it may be no MD5 (SSE-KMS): a HEAD
        ("SECOND = 22\n", 0),  # another size: replaced whatever the object holds, no HEAD
    ],
    ids=["same size", "another size"],
)
def test_one_changed_file_is_exactly_one_put(project, s3, bucket, text, heads):
    run_sync(project, s3, bucket, prefix="env-a")
    assert (project / "dags/redshift__02_second.py").read_text() == "SECOND = 2\n"
    (project / "dags/redshift__02_second.py").write_text(text)

    plan, result = run_sync(project, s3, bucket, prefix="env-a")

    assert [item.key for item in plan.changed] == ["dags/redshift__02_second.py"]
    assert s3.put_keys == ["env-a/dags/redshift__02_second.py", "env-a/.releases/000002.json"]
    # only the changed file's listing differs from the local MD5; the record carries the other versions over
    assert s3.sent["HeadObject"] == heads
    assert managed_contents(s3.client, bucket, "env-a/") == expected_objects(project, "env-a/")


def test_deleted_dag_is_removed_and_nothing_outside_the_managed_prefix_is_touched(project, s3, bucket):
    outside = {
        "keep.txt": b"not ours",
        "dagsx/looks_similar.py": b"a sibling prefix",
        "other-env/dags/theirs.py": b"another environment",
        "env-a/plugins.zip.bak": b"a backup beside ours",
        "env-a/logs/run.log": b"beside dags/",
        "env-a/dags/": b"",  # the folder marker the S3 console creates
    }
    for key, data in outside.items():
        s3.client.put_object(Bucket=bucket, Key=key, Body=data)
    run_sync(project, s3, bucket, prefix="env-a")
    (project / "dags/redshift__01_first.py").unlink()
    (project / "sql/redshift/ddl/users.sql").unlink()

    plan, result = run_sync(project, s3, bucket, prefix="env-a")

    assert result.deleted == ["dags/redshift__01_first.py", "dags/sql/redshift/ddl/users.sql"]  # key order
    assert s3.put_keys == ["env-a/.releases/000002.json"]
    everything = bucket_contents(s3.client, bucket)
    assert {key: everything[key] for key in outside} == outside
    ours = {k: v for k, v in everything.items() if k.startswith("env-a/") and k not in outside}
    assert {k: v for k, v in ours.items() if not is_release_record(k)} == expected_objects(project, "env-a/")
    assert sorted(k for k in ours if is_release_record(k)) == [
        "env-a/.releases/000001.json",
        "env-a/.releases/000002.json",
    ]


def test_dry_run_changes_nothing(project, s3, bucket):
    run_sync(project, s3, bucket)
    before = bucket_contents(s3.client, bucket)
    (project / "dags/redshift__01_first.py").unlink()
    (project / "dags/redshift__03_third.py").write_text("THIRD = 3\n")

    plan, result = run_sync(project, s3, bucket, dry_run=True)

    assert result is None
    assert [item.key for item in plan.added] == ["dags/redshift__03_third.py"]
    assert [item.key for item in plan.deleted] == ["dags/redshift__01_first.py"]
    assert s3.sent["PutObject"] == 0 and s3.sent["DeleteObjects"] == 0
    assert bucket_contents(s3.client, bucket) == before


class FailingPut:
    """Fails every attempt to send one object, at the network edge (after the client built the request)."""

    def __init__(self, client, key_suffix: str) -> None:
        self.key_suffix, self.attempts = key_suffix, 0
        client.meta.events.register("before-send.s3.PutObject", self)

    def __call__(self, request, **_kwargs):
        if request.url.split("?")[0].endswith(self.key_suffix):
            self.attempts += 1
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=request.url)


def test_failed_upload_deletes_nothing_and_a_rerun_converges(project, s3, bucket):
    run_sync(project, s3, bucket)
    (project / "dags/redshift__01_first.py").unlink()  # stale: must survive the failed run
    for n in range(3, 13):
        (project / f"dags/redshift__{n:02d}_new.py").write_text(f"N = {n}\n")
    (project / "sql/redshift/ddl/users.sql").write_text("select 2;\n")
    failing = FailingPut(s3.client, "dags/redshift__07_new.py")

    with pytest.raises(ApplyError, match="redshift__07_new.py.*nothing was deleted"):
        run_sync(project, s3, bucket)

    assert failing.attempts >= 1
    assert s3.sent["DeleteObjects"] == 0
    assert "dags/redshift__01_first.py" in bucket_contents(s3.client, bucket)
    assert not [key for key in s3.put_keys if is_release_record(key)]  # a failed sync records no release
    s3.client.meta.events.unregister("before-send.s3.PutObject", failing)

    plan, result = run_sync(project, s3, bucket)

    assert "dags/redshift__07_new.py" in result.uploaded and result.deleted == ["dags/redshift__01_first.py"]
    assert managed_contents(s3.client, bucket) == expected_objects(project)
    assert s3.put_keys[-1] == ".releases/000002.json"


def test_objects_put_by_other_tools_compare_by_etag(project, s3, bucket):
    """No sha256 metadata (e.g. uploaded with aws s3 sync): a plain ETag is the content's MD5."""
    for key, data in expected_objects(project).items():
        s3.client.put_object(Bucket=bucket, Key=key, Body=data)
    s3.client.put_object(Bucket=bucket, Key="dags/redshift__02_second.py", Body=b"SECOND = 0\n")  # same size

    plan, result = run_sync(project, s3, bucket)

    assert [item.key for item in plan.changed] == ["dags/redshift__02_second.py"]
    assert len(plan.unchanged) == len(expected_objects(project)) - 1
    assert s3.put_keys == ["dags/redshift__02_second.py", ".releases/000001.json"]


def test_unversioned_bucket_is_refused_before_anything_is_uploaded(project, s3):
    s3.client.create_bucket(Bucket="unversioned")

    with pytest.raises(TargetError, match="versioning is off.*Nothing was changed"):
        run_sync(project, s3, "unversioned")

    assert s3.sent["PutObject"] == 0
    assert s3.client.list_objects_v2(Bucket="unversioned").get("KeyCount") == 0


def test_sync_from_a_fresh_clone_uploads_nothing(project, s3, bucket, tmp_path):
    """A CI checkout has new mtimes everywhere: content decides, so nothing is re-sent."""
    run_sync(project, s3, bucket)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))

    plan, result = run_sync(clone, s3, bucket)

    assert result is None and s3.sent["PutObject"] == 0
    assert len(plan.unchanged) == len(expected_objects(project))


def test_an_object_whose_plain_etag_differs_from_the_local_md5_is_changed_whatever_its_metadata_says(
    project, s3, bucket
):
    """Drift: someone overwrote the object (same size) and kept, or copied, our sha256 metadata."""
    run_sync(project, s3, bucket)
    key = "dags/redshift__02_second.py"
    ours = (project / key).read_bytes()
    s3.client.put_object(
        Bucket=bucket, Key=key, Body=b"SECOND = 0\n", Metadata={"sha256": hashlib.sha256(ours).hexdigest()}
    )

    plan, result = run_sync(project, s3, bucket)

    assert [item.key for item in plan.changed] == [key]
    assert s3.put_keys == [key, ".releases/000002.json"]
    assert bucket_contents(s3.client, bucket)[key] == ours


def test_an_sse_kms_object_is_compared_by_its_stored_sha256(project, s3, bucket):
    """An SSE-KMS object's ETag is 32 hex digits but no MD5 of the content: the stored sha256 decides.

    moto returns the MD5 as the ETag of an SSE-KMS object; S3 does not ("Objects encrypted by SSE-KMS ...
    have ETags that are not an MD5 digest of their object data", S3 API reference, Object). The responses
    are made what S3 sends, at the network edge.
    """
    run_sync(project, s3, bucket)
    key = "dags/redshift__01_first.py"
    data = (project / key).read_bytes()
    s3.client.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ServerSideEncryption="aws:kms",
        Metadata={"sha256": hashlib.sha256(data).hexdigest()},
    )
    kms_etag = '"%s"' % hashlib.md5(b"not the content").hexdigest()

    def as_s3_sends_it(parsed, **_):
        for item in parsed.get("Contents", []):
            if item["Key"] == key:
                item["ETag"] = kms_etag
        if parsed.get("ServerSideEncryption") == "aws:kms":
            parsed["ETag"] = kms_etag

    s3.client.meta.events.register("after-call.s3.ListObjectsV2", as_s3_sends_it)
    s3.client.meta.events.register("after-call.s3.HeadObject", as_s3_sends_it)

    plan, result = run_sync(project, s3, bucket)

    assert result is None and s3.sent["PutObject"] == 0
    assert s3.sent["HeadObject"] == 1


def test_each_phase_is_in_place_before_the_next_is_sent(project, s3, bucket, s3_server):
    """The barriers, as the S3 server saw them: a slow environment file, a slow SQL file and a slow DAG file
    (delayed at the network edge) are each answered before anything of the next phase arrives."""
    run_sync(project, s3, bucket)
    (project / "plugins/lakehouse/paths.py").write_text("SQL = 'sql'\nNEW = 1\n")
    (project / "sql/redshift/ddl/users.sql").write_text("select 3;\n")
    (project / "dags/hudi/schemas/artists.avsc").write_text('{"type": "record", "name": "a", "fields": []}\n')
    (project / "dags/redshift__02_second.py").write_text("SECOND = 22\n")
    (project / "dags/redshift__03_third.py").write_text("from lakehouse.paths import NEW\n")
    (project / "dags/redshift__01_first.py").unlink()
    slow = ("plugins.zip", "users.sql", "redshift__03_third.py")
    s3.client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: time.sleep(0.4) if request.url.endswith(slow) else None,
    )
    mark = s3_server.mark()

    run_sync(project, s3, bucket)

    arrived = [
        (method, key) for method, key, _, _ in s3_server.since(mark, bucket) if method in ("PUT", "POST")
    ]
    phases = [
        {("PUT", "plugins.zip")},
        {("PUT", "dags/sql/redshift/ddl/users.sql"), ("PUT", "dags/hudi/schemas/artists.avsc")},
        {("PUT", "dags/redshift__02_second.py"), ("PUT", "dags/redshift__03_third.py")},
        {("POST", "")},  # DeleteObjects
        {("PUT", ".releases/000002.json")},  # the release record, once everything is in place
    ]
    assert sorted(arrived) == sorted(request for phase in phases for request in phase)
    seen = 0
    for phase in phases:
        assert set(arrived[seen : seen + len(phase)]) == phase, arrived
        seen += len(phase)


def test_more_than_1000_stale_objects_go_in_batches_of_1000(project, s3, bucket, s3_server):
    """DeleteObjects takes at most 1,000 keys per request (S3 API reference, DeleteObjects: "The request can
    contain a list of up to 1,000 keys"); the test server refuses more, as S3 does. 1,001 stale objects are
    exactly two requests, the first full, in key order. A stale object is only listed, never looked up: it is
    deleted whatever it holds (no HEAD per object to be deleted)."""
    run_sync(project, s3, bucket)
    stale = [f"dags/sql/old/q{n:04d}.sql" for n in range(1001)]
    s3_server.put_behind(bucket, stale, b"select 1;\n")
    s3.reset()
    batches = []
    s3.client.meta.events.register(
        "before-parameter-build.s3.DeleteObjects",
        lambda params, **_: batches.append([item["Key"] for item in params["Delete"]["Objects"]]),
    )

    plan, result = run_sync(project, s3, bucket)

    assert [len(batch) for batch in batches] == [1000, 1]
    assert batches == [stale[:1000], stale[1000:]]
    assert s3.sent["DeleteObjects"] == 2 and result.deleted == stale
    assert s3.sent["HeadObject"] == 0
    assert managed_contents(s3.client, bucket) == expected_objects(project)


def test_the_test_server_refuses_a_delete_of_more_than_1000_keys_as_s3_does(s3, bucket):
    keys = [{"Key": f"k{n}"} for n in range(1001)]
    with pytest.raises(botocore.exceptions.ClientError, match="MalformedXML"):
        s3.client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    assert s3.client.delete_objects(Bucket=bucket, Delete={"Objects": keys[:1000], "Quiet": True})


def test_a_delete_s3_refuses_per_key_fails_the_sync_naming_the_first_key_and_its_error(project, s3, bucket):
    """DeleteObjects answers 200 even when it refuses keys: the refused ones come back under Errors (e.g.
    AccessDenied), https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html. The answer is
    edited as S3 would send it; the deletes themselves go to the server."""
    run_sync(project, s3, bucket)
    (project / "dags/redshift__01_first.py").unlink()
    (project / "sql/redshift/ddl/users.sql").unlink()

    def refuse_each(parsed, **_):
        parsed["Errors"] = [
            {"Key": key, "Code": "AccessDenied", "Message": "Access Denied"}
            for key in ("dags/redshift__01_first.py", "dags/sql/redshift/ddl/users.sql")
        ]

    s3.client.meta.events.register("after-call.s3.DeleteObjects", refuse_each)

    with pytest.raises(TargetError) as refused:
        run_sync(project, s3, bucket)

    assert str(refused.value) == (
        f"s3://{bucket}/: delete of dags/redshift__01_first.py failed: AccessDenied Access Denied"
    )
