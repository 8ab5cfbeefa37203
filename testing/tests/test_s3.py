"""moto's S3 server as a separate process."""

import os

import boto3
from wharf_testing.s3 import ExternalS3, MotoServer


def test_bucket_round_trip_through_boto3(s3_server, s3_bucket):
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="docker/registry/v2/blob", Body=b"layer bytes")

    body = client.get_object(Bucket=s3_bucket, Key="docker/registry/v2/blob")["Body"].read()

    assert body == b"layer bytes"


def test_env_credentials_make_plain_boto3_work(s3_server, s3_bucket):
    assert os.environ["AWS_ACCESS_KEY_ID"] == s3_server.credentials["AWS_ACCESS_KEY_ID"]
    client = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]
    assert s3_bucket in names


def test_each_bucket_is_fresh(s3_server):
    first, second = s3_server.create_bucket(), s3_server.create_bucket()
    assert first != second
    assert s3_server.client().list_objects_v2(Bucket=second)["KeyCount"] == 0


def test_server_runs_in_its_own_process(s3_server):
    assert s3_server.pid is not None and s3_server.pid != os.getpid()
    assert s3_server.endpoint_url.startswith("http://127.0.0.1:")


def test_stop_leaves_no_process():
    server = MotoServer().start()
    pid = server.pid
    assert server.client().list_buckets()["Buckets"] == []

    server.stop()

    assert not os.path.exists(f"/proc/{pid}")


def test_external_endpoint_uses_given_credentials():
    external = ExternalS3(
        "http://127.0.0.1:9000",
        environ={"REGISTRY_TEST_S3_ACCESS_KEY": "ak", "REGISTRY_TEST_S3_SECRET_KEY": "sk"},
    )
    assert external.credentials["AWS_ACCESS_KEY_ID"] == "ak"
    assert external.credentials["AWS_SECRET_ACCESS_KEY"] == "sk"
    assert external.region == "us-east-1"
