"""Defect 11 of #12 on the local stack (moto's S3 through the real adapter): plan_ingest and ingest_labels
read an upload whose event names the key URL-encoded (spaces, '+', non-ASCII), as well as one named as is."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from bulkqa import keys
from bulkqa_local.cloud import LocalCloud

DATA = b"image_local_path,label,confidence\ncrab/1.jpg,Crab,99\ncrab/2.jpg,Crab,80\ndog/1.jpg,Dog,95.5\n"
#: (the object's real name, the name as an encoded event gives it)
NAMES = [
    ("my labels {u}.csv", "my+labels+{u}.csv"),
    ("a+b {u}.csv", "a%2Bb+{u}.csv"),
    ("étiquettes ü {u}.CSV", "%C3%A9tiquettes+%C3%BC+{u}.CSV"),
]


@pytest.fixture(scope="module")
def cloud(cloud: LocalCloud) -> LocalCloud:
    """The shared stack, its uploads not starting the workflow: the tests call the functions themselves."""
    cloud.client("s3").put_bucket_notification_configuration(Bucket=cloud.bucket, NotificationConfiguration={})
    return cloud


def _ingest(cloud: LocalCloud, real: str, given: str) -> list[dict[str, Any]]:
    put = cloud.client("s3").put_object(Bucket=cloud.bucket, Key=real, Body=DATA)
    state: dict[str, Any] = {
        "run_id": f"test-{uuid.uuid4().hex[:10]}",
        "source": {"bucket": cloud.bucket, "key": given, "version": put["VersionId"], "size": len(DATA)},
    }
    plan = cloud.invoke(cloud.function_by_logical_id("PlanIngestFunction").name, state)
    body = cloud.client("s3").get_object(Bucket=cloud.bucket, Key=plan["plan_key"])["Body"].read()
    ingest = cloud.function_by_logical_id("IngestLabelsFunction").name
    return [cloud.invoke(ingest, {**state, "ingest": plan, "chunk": chunk}) for chunk in json.loads(body)]


@pytest.mark.parametrize(("real", "encoded"), NAMES)
def test_an_encoded_key_in_the_event_reads_the_object(cloud: LocalCloud, real: str, encoded: str) -> None:
    u = uuid.uuid4().hex[:8]
    counts = _ingest(cloud, keys.UPLOAD_PREFIX + real.format(u=u), keys.UPLOAD_PREFIX + encoded.format(u=u))
    assert sum(c["rows"] for c in counts) == 3


def test_a_key_named_as_is_still_reads_as_is(cloud: LocalCloud) -> None:
    key = keys.UPLOAD_PREFIX + f"a+b%20{uuid.uuid4().hex[:8]}.csv"  # an object really named with '+' and '%'
    assert sum(c["rows"] for c in _ingest(cloud, key, key)) == 3
