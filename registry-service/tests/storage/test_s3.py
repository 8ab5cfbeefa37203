"""The conformance suite on the S3 driver against a real S3 endpoint (moto's server)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from driver_suite import DriverSuite
from wharf_registry.storage import S3Driver, StorageConfigError, create_driver
from wharf_registry.storage.s3_writer import MIN_PART

pytestmark = pytest.mark.s3


def params(s3_server, bucket: str, **extra: str) -> dict[str, str]:
    base = {
        "bucket": bucket,
        "region": s3_server.region,
        "endpoint_url": s3_server.endpoint_url,
        "chunksize": str(MIN_PART),
    }
    return base | extra


@pytest.fixture(params=["", "registry/prefix"], ids=["no-prefix", "prefix"])
def settings(request, s3_server, s3_bucket):
    return params(s3_server, s3_bucket, prefix=request.param, redirect="true")


@pytest.fixture
def driver(settings):
    return create_driver("s3", settings)


@pytest.fixture
def reopen(settings):
    return lambda: S3Driver.from_params(settings)


@pytest.fixture
def leftovers(s3_server, s3_bucket):
    client = s3_server.client()

    def remains() -> list[str]:
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
        uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        return sorted(keys) + [f"upload:{u['Key']}" for u in uploads]

    return remains


class TestS3Driver(DriverSuite):
    """Everything in :mod:`driver_suite`, on S3 (5 MiB parts, the smallest S3 allows)."""


def test_objects_live_under_the_prefix(s3_server, s3_bucket):
    driver = create_driver("s3", params(s3_server, s3_bucket, prefix="/base/"))
    driver.put_content("/docker/registry/v2/x", b"1")
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["base/docker/registry/v2/x"]
    assert driver.list("/") == ["/docker"]


def test_redirect_off_gives_no_url(s3_server, s3_bucket):
    driver = create_driver("s3", params(s3_server, s3_bucket, redirect="false"))
    driver.put_content("/blob", b"1")
    assert driver.redirect_url("/blob") is None


def test_endpoint_enforces_the_minimum_part_size(s3_server, s3_bucket):
    """The premise of the resumable writer: S3 refuses non-final parts under 5 MiB."""
    client = s3_server.client()
    upload = client.create_multipart_upload(Bucket=s3_bucket, Key="k")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": client.upload_part(
                Bucket=s3_bucket, Key="k", UploadId=upload, PartNumber=n, Body=b"x" * 1024
            )["ETag"],
        }
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as info:
        client.complete_multipart_upload(
            Bucket=s3_bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert info.value.response["Error"]["Code"] == "EntityTooSmall"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"chunksize": str(MIN_PART - 1)}, "chunksize must be between 5242880"),
        ({"chunksize": "ten"}, "chunksize must be an integer"),
        ({"redirect": "perhaps"}, "redirect must be true or false"),
        ({"bucket": ""}, "bucket is required"),
        ({"accesskey": "AKIA"}, "accesskey and secretkey"),
        ({"prefix": "a b"}, "prefix"),
        ({"regoin": "eu-west-1"}, "regoin"),
    ],
)
def test_bad_params_are_named(extra, message):
    settings = {"bucket": "b", "endpoint_url": "http://127.0.0.1:9"} | extra
    with pytest.raises(StorageConfigError, match=message):
        create_driver("s3", settings)


def test_params_are_typed():
    driver = create_driver(
        "s3",
        {
            "bucket": "b",
            "region": "eu-west-1",
            "chunksize": "6291456",
            "redirect": "true",
            "prefix": "/p/q/",
            "accesskey": "a",
            "secretkey": "s",
        },
    )
    assert (driver.bucket, driver.prefix, driver.chunksize, driver.redirect) == (
        "b",
        "p/q",
        6291456,
        True,
    )
    assert driver.client.meta.region_name == "eu-west-1"
    assert create_driver("s3", {"bucket": "b"}).chunksize == 10 * 1024 * 1024
