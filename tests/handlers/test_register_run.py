"""register_run against the local stack: one run per uploaded object version, duplicates recognised.

The handler runs through ``LocalCloud.invoke`` (the real handler with the template's environment);
the sample event is ``events/s3_object_created.json`` aimed at the local stack's bucket.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from bulkqa import keys
from bulkqa.adapters.dynamodb import RunsTable
from bulkqa_local.cloud import HandlerError, LocalCloud
from tests.support.events import load_event

KEY = "incoming/sample.csv"


def register(cloud: LocalCloud, event: dict[str, Any]) -> dict[str, Any]:
    return dict(cloud.invoke(cloud.function_by_logical_id("RegisterRunFunction").name, event))


def s3_event(cloud: LocalCloud, *, key: str = KEY, version: str | None = None) -> dict[str, Any]:
    event = load_event("s3_object_created", bucket=cloud.bucket)
    event["detail"]["object"]["key"] = key
    event["detail"]["object"]["version-id"] = version or uuid.uuid4().hex
    return event


def runs(cloud: LocalCloud) -> RunsTable:
    return RunsTable(cloud.client("dynamodb"), cloud.table("RunsTable"))


def test_register_run_sample_event_is_a_copy_of_the_s3_event() -> None:
    assert load_event("register_run") == load_event("s3_object_created")


def test_a_new_upload_registers_a_run(cloud: LocalCloud) -> None:
    event = s3_event(cloud)
    version = event["detail"]["object"]["version-id"]
    result = register(cloud, event)
    run_id = keys.run_id_for(cloud.bucket, KEY, version)
    source = {"bucket": cloud.bucket, "key": KEY, "version": version, "size": event["detail"]["object"]["size"]}
    assert result == {"run_id": run_id, "duplicate": False, "source": source}
    item = runs(cloud).get(f"run#{run_id}")
    assert item is not None
    assert item["status"] == "registered"
    assert item["source"] == source


def test_the_same_object_version_twice_is_a_duplicate(cloud: LocalCloud) -> None:
    event = s3_event(cloud)
    first = register(cloud, event)
    stored = runs(cloud).get(f"run#{first['run_id']}")
    again = register(cloud, json.loads(json.dumps(event)))
    assert again == {**first, "duplicate": True}
    assert runs(cloud).get(f"run#{first['run_id']}") == stored  # the run record is not touched


def test_a_new_version_of_the_same_key_is_a_new_run(cloud: LocalCloud) -> None:
    first = register(cloud, s3_event(cloud, version="v1-" + uuid.uuid4().hex))
    second = register(cloud, s3_event(cloud, version="v2-" + uuid.uuid4().hex))
    assert first["run_id"] != second["run_id"]
    assert not first["duplicate"] and not second["duplicate"]


def test_without_versioning_the_sequencer_tells_uploads_apart(cloud: LocalCloud) -> None:
    key = f"incoming/{uuid.uuid4().hex}.csv"
    events = []
    for sequencer in ("0067470C2F9A1E8B5D", "0067470C3A01B2C3D4"):
        event = s3_event(cloud, key=key)
        del event["detail"]["object"]["version-id"]
        event["detail"]["object"]["sequencer"] = sequencer
        events.append(event)
    first, second = register(cloud, events[0]), register(cloud, events[1])
    assert first["run_id"] != second["run_id"]
    assert first["source"]["version"] == ""
    assert register(cloud, events[1])["duplicate"] is True


def test_moto_event_variant_is_accepted(cloud: LocalCloud) -> None:
    """moto's own "Object Created" event (eTag, reason ObjectCreated, numeric time), captured from S3."""
    events, sqs = cloud.client("events"), cloud.client("sqs")
    queue = sqs.create_queue(QueueName=f"capture-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"object": {"key": [{"prefix": "incoming/captured/"}]}},
    }
    events.put_rule(Name="capture-uploads", EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="capture-uploads", Targets=[{"Id": "queue", "Arn": queue_arn}])
    # detach the stack's own upload rule for this upload: the test calls register_run itself
    workflow_rule = next(r for r in cloud.rules if ":states:" in r["target"])
    events.remove_targets(Rule=workflow_rule["name"], Ids=["target"])
    try:
        put = cloud.client("s3").put_object(Bucket=cloud.bucket, Key="incoming/captured/labels.csv", Body=b"x")
        deadline, messages = time.monotonic() + 10, []
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
    finally:
        events.put_targets(Rule=workflow_rule["name"], Targets=[{"Id": "target", "Arn": workflow_rule["target"]}])
    assert messages, "moto delivered no S3 event to the capture queue"
    event = json.loads(messages[0]["Body"])
    obj = event["detail"]["object"]
    assert "eTag" in obj and "etag" not in obj  # moto's spelling, not AWS's
    assert event["detail"]["reason"] == "ObjectCreated"
    event["time"] = time.time()  # as moto hands it to in-process targets: a number, not a timestamp

    result = register(cloud, event)

    assert result["duplicate"] is False
    assert result["run_id"] == keys.run_id_for(cloud.bucket, "incoming/captured/labels.csv", put["VersionId"])
    assert result["source"]["version"] == put["VersionId"]


def test_moto_variant_without_version_id_falls_back_to_the_etag(cloud: LocalCloud) -> None:
    event = s3_event(cloud, key=f"incoming/{uuid.uuid4().hex}.csv")
    obj = event["detail"]["object"]
    obj["version-id"], obj["eTag"] = None, obj.pop("etag")
    del obj["sequencer"]
    event["time"] = 1764238542.123
    result = register(cloud, event)
    assert result["run_id"] == keys.run_id_for(cloud.bucket, obj["key"], obj["eTag"])
    assert result["source"]["version"] == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["detail"]["object"].update(key="incoming/sample.txt"), "is not a .csv file under incoming/"),
        (lambda e: e["detail"]["object"].update(key="incoming/sample.csv.gz"), "is not a .csv file"),
        (lambda e: e["detail"]["object"].update(key="reports/sample.csv"), "is not a .csv file under incoming/"),
        (lambda e: e["detail"]["object"].update(key="runs/r/rejected.csv"), "is not a .csv file under incoming/"),
        (lambda e: e["detail"]["object"].pop("key"), "is not a .csv file"),
        (lambda e: e["detail"]["bucket"].update(name="someone-elses-bucket"), "not the stack's bucket"),
        (lambda e: e.update(source="aws.sagemaker"), "expected an S3 'Object Created' event"),
        (lambda e: e.pop("detail"), "expected an S3 'Object Created' event"),
        (lambda e: e["detail"].update(object="incoming/sample.csv"), "expected an S3 'Object Created' event"),
    ],
)
def test_events_that_are_not_an_upload_of_a_csv_are_invalid(cloud: LocalCloud, change: Any, message: str) -> None:
    event = s3_event(cloud)
    change(event)
    with pytest.raises(HandlerError) as error:
        register(cloud, event)
    assert error.value.error_type == "InvalidEvent"
    assert message in error.value.message


def test_upper_case_csv_suffix_is_accepted(cloud: LocalCloud) -> None:
    assert register(cloud, s3_event(cloud, key="incoming/Export 2026.CSV"))["run_id"].startswith("export-2026-")


def test_a_labeling_job_event_is_not_an_upload(cloud: LocalCloud) -> None:
    with pytest.raises(HandlerError) as error:
        register(cloud, load_event("labeling_job_state_change"))
    assert error.value.error_type == "InvalidEvent"
