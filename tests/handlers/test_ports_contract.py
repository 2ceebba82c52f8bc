"""The in-memory fakes (tests/support/fakes.py) behave like the adapters they stand in for (moto).

Each test runs the same calls on the fake and on the real adapter against moto and compares what
the steps can observe, so the fast step tests in tests/unit keep telling the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bulkqa import keys
from bulkqa.adapters.dynamodb import LabelsTable, RunsTable
from bulkqa.adapters.s3 import ObjectStore
from tests.support.fakes import FakeLabelsTable, FakeRunsTable, FakeStore

RUN = "contract-0123456789"


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setenv(name, "testing")
        with mock_aws():
            yield


def real_store(bucket: str) -> ObjectStore:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return ObjectStore(s3, bucket)


def table(name: str, *key: str) -> Any:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(key, ("HASH", "RANGE"), strict=False)],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in key],
        BillingMode="PAY_PER_REQUEST",
    )
    return ddb


def test_object_store(aws: None, tmp_path: Path) -> None:
    real = real_store("contract-store")
    fake = FakeStore("contract-store", block=3)
    source = tmp_path / "file.csv"
    source.write_bytes("é,1\n".encode() * 10)
    observed = []
    for store in (real, fake):
        store.put_bytes("b/2.json", b'{"a": [1, 2.5, "x"]}', "application/json")
        store.put_json("b/1.json", {"é": [1, 2.5], "k": None})
        store.put_many([(f"m/{n}", str(n).encode(), "text/plain") for n in (3, 1, 2)], threads=2)
        store.put_file("f/file.csv", source, "text/csv")
        store.copy("f/file.csv", "f/copy.csv")
        observed.append(
            (
                store.keys("b/"),
                store.keys("m/"),
                store.keys("nothing/"),
                store.read_json("b/1.json"),
                store.read_json("b/2.json"),
                store.size("f/copy.csv"),
                store.read_range("f/copy.csv", 2, 7),
                store.read_range("f/copy.csv", 5, 5),
                b"".join(store.stream("f/copy.csv", 4)),
            )
        )
        with pytest.raises(Exception):  # noqa: B017  # NoSuchKey on S3, KeyError in the fake
            store.size("f/missing.csv")
    assert observed[0] == observed[1]
    # object versions: a later upload of the key does not change what a version id reads
    v1 = real._s3.put_object(Bucket=real.bucket, Key="incoming/x.csv", Body=b"first")["VersionId"]
    real.put_bytes("incoming/x.csv", b"second")
    fake.versions["incoming/x.csv", v1] = b"first"
    fake.put_bytes("incoming/x.csv", b"second")
    for store in (real, fake):
        assert (store.size("incoming/x.csv", v1), store.read_range("incoming/x.csv", 0, 9, v1)) == (5, b"first")
        assert store.read_range("incoming/x.csv", 0, 9) == b"second"


def label(run_id: str, n: int, confidence: float) -> dict[str, Any]:
    item = keys.item_id(f"s3://b/{n}.jpg", "Crab")
    return {
        "run_partition": keys.partition(run_id, item),
        "item_id": item,
        "run_id": run_id,
        "s3_image_url": f"s3://b/{n}.jpg",
        "image": f"{n}.jpg",
        "label": "Crab",
        "confidence": confidence,
        "line": n + 2,
    }


def test_labels_table(aws: None) -> None:
    real = LabelsTable(table("contract-labels", "run_partition", "item_id"), "contract-labels")
    fake = FakeLabelsTable()
    items = [label(RUN, n, 50 + n / 7) for n in range(60)] + [label("another-run-01", 0, 99.0)]
    observed = []
    for labels in (real, fake):
        requests = labels.put_items(iter(items))
        known = items[3]["item_id"]
        writes = (
            labels.set_verdicts(RUN, known, 1, 2, {"w2": "reject", "w1": "confirm", "w3": "reject"}, "job", "b-1"),
            labels.set_verdicts(RUN, keys.item_id("s3://b/none.jpg", "Crab"), 1, 0, {"w1": "confirm"}, "job", "b"),
        )
        deleted = labels.delete_items(RUN, [items[5]["item_id"], keys.item_id("s3://b/none.jpg", "Crab")])
        every = list(labels.run_items(RUN))
        projected = list(labels.run_items(RUN, ("item_id", "confidence", "WorkerVerdicts")))
        observed.append((requests, writes, deleted, every, projected))
    assert observed[0] == observed[1]
    assert observed[0][0] == 3  # 61 items: 3 BatchWriteItem requests
    assert observed[0][2] == 1  # a delete of an item that is not there is no error
    assert len(observed[0][3]) == 59
    assert items[5]["item_id"] not in {item["item_id"] for item in observed[0][3]}


def test_runs_table(aws: None) -> None:
    real = RunsTable(table("contract-runs", "pk"), "contract-runs")
    fake = FakeRunsTable()
    source = {"bucket": "b", "key": "incoming/x.csv", "version": "v1", "size": 12}
    observed = []
    for runs in (real, fake):
        created = (
            runs.register_run(RUN, {"status": "registered", "source": source, "created": "t"}),
            runs.register_run(RUN, {"status": "again", "source": source, "created": "t2"}),
        )
        runs.update(f"run#{RUN}", {"status": "batched", "tasks": 4, "jobs": 1})
        runs.update("job#bulkqa-x-p00", {"token": "tok", "run_id": RUN, "part": 0})
        observed.append((created, runs.get(f"run#{RUN}"), runs.get("job#bulkqa-x-p00"), runs.get("job#none")))
    assert observed[0] == observed[1]
    assert observed[0][0] == (True, False)
