"""pre_labeling against the local stack, with Ground Truth's pre-annotation request (contracts §1).

Ground Truth fails the whole labeling job when this function raises, so every refusal must be a
MalformedBatch whose message names the batch file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bulkqa_local.cloud import HandlerError, LocalCloud
from tests.support.events import load_event


def prelabel(cloud: LocalCloud, event: dict[str, Any]) -> Any:
    return cloud.invoke(cloud.function_by_logical_id("PreLabelingFunction").name, event)


def put_batch(cloud: LocalCloud, uri: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    bucket, key = uri[5:].split("/", 1)
    cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture
def event(cloud: LocalCloud) -> dict[str, Any]:
    """events/pre_labeling.json with events/batch.json stored where its source-ref points."""
    event = load_event("pre_labeling", bucket=cloud.bucket)
    put_batch(cloud, event["dataObject"]["source-ref"], load_event("batch", bucket=cloud.bucket))
    return event


def refusal(cloud: LocalCloud, event: dict[str, Any]) -> HandlerError:
    with pytest.raises(HandlerError) as error:
        prelabel(cloud, event)
    return error.value


def test_a_batch_becomes_the_pages_task_input(cloud: LocalCloud, event: dict[str, Any]) -> None:
    batch = load_event("batch", bucket=cloud.bucket)
    response = prelabel(cloud, event)
    assert list(response) == ["taskInput", "isHumanAnnotationRequired"]
    assert response["isHumanAnnotationRequired"] is True
    task = response["taskInput"]
    assert task["batch_id"] == event["dataObject"]["batch-id"] == "000000-8a7c3dfccca698b0"
    assert task["label"] == batch["label"] == "Beaver"
    assert task["image_count"] == len(task["images"]) == 25
    assert task["images"] == [
        {"id": item["id"], "uri": item["s3_uri"], "name": item["image"], "confidence": item["confidence"]}
        for item in batch["items"]
    ]


def test_extra_manifest_attributes_and_any_version_are_accepted(cloud: LocalCloud, event: dict[str, Any]) -> None:
    event["version"] = "2018-10-06"  # the recipe's fixture uses another value
    event["dataObject"]["note"] = "added by hand"
    assert prelabel(cloud, event)["taskInput"]["image_count"] == 25


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(version=2), "has format version 2, expected 1"),
        (lambda b: b.pop("label"), "has no label"),
        (lambda b: b.update(label="  "), "has no label"),
        (lambda b: b.update(items=[]), "must list 1..100 items"),
        (lambda b: b["items"][3].update(id="not-an-id"), "item 3 has no valid id"),
        (lambda b: b["items"][4].update(s3_uri="https://example.com/a.jpg"), "item 4 has no s3:// image URI"),
        (lambda b: b["items"][5].update(confidence="high"), "item 5 has no numeric confidence"),
        (lambda b: b["items"][5].update(confidence=True), "item 5 has no numeric confidence"),
        (lambda b: b["items"].__setitem__(6, "beaver/image_0003.jpg"), "item 6 is not an object"),
        (lambda b: b["items"][1].update(id="fedcba9876543210"), "digest mismatch"),
        (lambda b: b["items"].pop(), "digest mismatch"),
        (lambda b: b["items"].append(dict(b["items"][0])), "lists an item twice"),
    ],
)
def test_a_malformed_batch_is_refused_naming_the_file(
    cloud: LocalCloud, event: dict[str, Any], change: Any, message: str
) -> None:
    uri = event["dataObject"]["source-ref"]
    batch = load_event("batch", bucket=cloud.bucket)
    change(batch)
    put_batch(cloud, uri, batch)
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert f"batch file {uri}" in error.message
    assert message in error.message


def test_a_batch_holding_other_items_than_its_name_says(cloud: LocalCloud, event: dict[str, Any]) -> None:
    """A batch file whose members do not hash to the digest in its name (edited, or written elsewhere)."""
    batch = load_event("batch", bucket=cloud.bucket)
    batch["items"][0]["id"] = "0123456789abcdef"
    put_batch(cloud, event["dataObject"]["source-ref"], batch)
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert "does not hold the items its name says (digest mismatch)" in error.message


def test_a_json_array_is_not_a_batch(cloud: LocalCloud, event: dict[str, Any]) -> None:
    put_batch(cloud, event["dataObject"]["source-ref"], [1, 2])
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert "is not a JSON object" in error.message


def test_a_batch_file_that_is_not_json(cloud: LocalCloud, event: dict[str, Any]) -> None:
    uri = event["dataObject"]["source-ref"]
    put_batch(cloud, uri, b"{truncated")
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert uri in error.message


@pytest.mark.parametrize(
    "data_object",
    [
        {},
        {"source": "a text object instead of a batch reference"},
        {"source-ref": 42},
    ],
)
def test_a_data_object_without_a_batch_reference(cloud: LocalCloud, data_object: dict[str, Any]) -> None:
    event = load_event("pre_labeling", bucket=cloud.bucket)
    event["dataObject"] = data_object
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert "has no source-ref to a batch file" in error.message


@pytest.mark.parametrize(
    "source_ref",
    [
        "s3://{bucket}/beaver/image_0003.jpg",
        "s3://{bucket}/runs/sample-84f010a70d/batches/000000-8a7c3dfccca698b0.json.bak",
        "https://{bucket}.s3.amazonaws.com/runs/sample-84f010a70d/batches/000000-8a7c3dfccca698b0.json",
    ],
)
def test_a_source_ref_that_is_not_a_batch_file(cloud: LocalCloud, source_ref: str) -> None:
    event = load_event("pre_labeling", bucket=cloud.bucket)
    event["dataObject"]["source-ref"] = source_ref.format(bucket=cloud.bucket)
    error = refusal(cloud, event)
    assert error.error_type == "MalformedBatch"
    assert source_ref.format(bucket=cloud.bucket) in error.message
    assert "is not a batch file written by make_batches" in error.message
