"""post_labeling (Ground Truth's annotation consolidation) against the local stack.

Fixtures: events/post_labeling.json (the request, labelCategories absent), the payload file it points
at (events/post_labeling_payload.json: three reviewers, mixed answers, one 25-image batch) and the
batch (events/batch.json). Each test works in its own run id, so the labels table starts fresh.

The payload's reviewers unchecked these positions of the batch (0-based, batch order):
reviewer A {3, 7, 15}, reviewer B {3, 7, 12, 15}, reviewer C {7, 12, 15, 20, 24}.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from bulkqa import aws, keys
from bulkqa.adapters.dynamodb import LabelsTable, from_item
from bulkqa.ingest import label_item
from bulkqa_local.cloud import HandlerError, LocalCloud
from tests.support.events import load_event, load_json

ATTRIBUTE = "bulk-qa-verdicts"
REJECTED_BY = {  # batch position -> reviewers (by index in the payload) who unchecked it
    3: {0, 1},
    7: {0, 1, 2},
    12: {1, 2},
    15: {0, 1, 2},
    20: {2},
    24: {2},
}


class Run:
    """One test's copy of the fixtures, in its own run id, stored in the local stack."""

    def __init__(self, cloud: LocalCloud, *, missing: tuple[int, ...] = ()) -> None:
        self.cloud = cloud
        self.run_id = f"post-{uuid.uuid4().hex[:10]}"
        self.event = load_event("post_labeling", bucket=cloud.bucket, run_id=self.run_id)
        self.payload: list[dict[str, Any]] = load_json("post_labeling_payload", bucket=cloud.bucket, run_id=self.run_id)
        self.batch = load_event("batch", bucket=cloud.bucket, run_id=self.run_id)
        self.ids = [item["id"] for item in self.batch["items"]]
        self.workers = [a["workerId"] for a in self.payload[0]["annotations"]]
        self.put(self.payload[0]["dataObject"]["s3Uri"], self.batch)
        rows = [
            [item["line"], item["id"], item["s3_uri"], item["image"], self.batch["label"], item["confidence"]]
            for n, item in enumerate(self.batch["items"])
            if n not in missing
        ]
        LabelsTable(cloud.client("dynamodb"), cloud.table("LabelsTable")).put_items(
            label_item(self.run_id, row) for row in rows
        )

    def put(self, uri: str, body: Any) -> None:
        bucket, key = uri[5:].split("/", 1)
        self.cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())

    def consolidate(self, payload: list[dict[str, Any]] | None = None, **event: Any) -> list[dict[str, Any]]:
        self.put(self.event["payload"]["s3Uri"], self.payload if payload is None else payload)
        request = {**self.event, **event}
        return list(self.cloud.invoke(self.cloud.function_by_logical_id("PostLabelingFunction").name, request))

    def item(self, position: int) -> dict[str, Any] | None:
        item_id = self.ids[position]
        raw = self.cloud.client("dynamodb").get_item(
            TableName=self.cloud.table("LabelsTable"),
            ConsistentRead=True,
            Key={"run_partition": {"S": keys.partition(self.run_id, item_id)}, "item_id": {"S": item_id}},
        )
        return from_item(raw["Item"]) if "Item" in raw else None

    def items(self) -> list[dict[str, Any] | None]:
        """Every item of the batch, in batch order (None where the table has none): one BatchGetItem."""
        table = self.cloud.table("LabelsTable")
        request = {
            table: {
                "ConsistentRead": True,
                "Keys": [
                    {"run_partition": {"S": keys.partition(self.run_id, i)}, "item_id": {"S": i}} for i in self.ids
                ],
            }
        }
        found = {}
        while request:
            response = self.cloud.client("dynamodb").batch_get_item(RequestItems=request)
            found.update({raw["item_id"]["S"]: from_item(raw) for raw in response["Responses"].get(table, [])})
            request = response.get("UnprocessedKeys") or {}
        return [found.get(i) for i in self.ids]


@pytest.fixture
def run(cloud: LocalCloud) -> Run:
    return Run(cloud)


def verdicts(response: list[dict[str, Any]], n: int = 0) -> dict[str, Any]:
    return dict(response[n]["consolidatedAnnotation"]["content"][ATTRIBUTE])


# --- the sample request ------------------------------------------------------------------------------


def test_the_sample_request_has_no_label_categories() -> None:
    event = load_event("post_labeling")
    assert "labelCategories" not in event
    assert set(event) == {"version", "labelingJobArn", "labelAttributeName", "roleArn", "payload"}
    payload = load_json("post_labeling_payload")
    assert [len(entry["annotations"]) for entry in payload] == [3]
    assert all(isinstance(a["annotationData"]["content"], str) for a in payload[0]["annotations"])


def test_attribution_by_id_with_answer_keys_in_alphabetical_order(run: Run) -> None:
    contents = [json.loads(a["annotationData"]["content"]) for a in run.payload[0]["annotations"]]
    assert all(list(c) == sorted(c) for c in contents)
    assert list(contents[0]) != [f"image-{i}" for i in run.ids]  # key order is not batch order

    response = run.consolidate()

    images = verdicts(response)["images"]
    for (n, item_id), stored in zip(enumerate(run.ids), run.items(), strict=True):
        rejected_by = REJECTED_BY.get(n, set())
        expected = {w: ("reject" if k in rejected_by else "confirm") for k, w in enumerate(run.workers)}
        assert images[item_id]["reviewers"] == dict(sorted(expected.items())), n
        assert stored is not None
        assert stored["WorkerVerdicts"] == expected
        assert (stored["WorkerConfirmCount"], stored["WorkerDisconfirmCount"]) == (
            3 - len(rejected_by),
            len(rejected_by),
        )


def test_three_reviewers_mixed_answers_give_confirmed_disconfirmed_and_split(run: Run) -> None:
    response = run.consolidate()
    images = verdicts(response)["images"]
    by_position = [images[i]["verdict"] for i in run.ids]
    assert [n for n, v in enumerate(by_position) if v == "disconfirmed"] == [7, 15]
    assert [n for n, v in enumerate(by_position) if v == "split"] == [3, 12, 20, 24]
    assert by_position.count("confirmed") == 19
    assert images[run.ids[3]] | {"reviewers": None} == {
        "verdict": "split",
        "confirms": 1,
        "rejects": 2,
        "reviewers": None,
    }
    assert images[run.ids[20]]["confirms"] == 2
    stored = run.items()
    assert sum(1 for s in stored if s and s["WorkerDisconfirmCount"] == 0) == 19
    assert sum(1 for s in stored if s and s["WorkerConfirmCount"] == 0) == 2
    # everything the table had is still there; the verdicts were added
    first = stored[0]
    assert first is not None
    assert first["label"] == "Beaver"
    assert first["labeling_job"] == keys.job_name(run.run_id, 0)
    assert first["batch_id"] == verdicts(response)["batch_id"] == "000000-8a7c3dfccca698b0"


def test_the_response_is_one_entry_in_ground_truths_shape(run: Run) -> None:
    response = run.consolidate()
    assert len(response) == 1
    assert list(response[0]) == ["datasetObjectId", "consolidatedAnnotation"]
    assert response[0]["datasetObjectId"] == "0"
    assert list(response[0]["consolidatedAnnotation"]["content"]) == [ATTRIBUTE]
    content = verdicts(response)
    assert content["excluded_answers"] == []
    assert content["unknown_images"] == []
    assert "error" not in content
    assert sorted(content["images"]) == sorted(run.ids)


@pytest.mark.parametrize("categories", ["absent", None, []])
def test_label_categories_absent_or_null(run: Run, categories: Any) -> None:
    extra = {} if categories == "absent" else {"labelCategories": categories}
    assert "labelCategories" not in run.event
    response = run.consolidate(**extra)
    assert verdicts(response)["images"][run.ids[7]]["verdict"] == "disconfirmed"


def test_the_label_attribute_name_of_the_request_is_used(run: Run) -> None:
    response = run.consolidate(labelAttributeName="my-qa-job")
    assert list(response[0]["consolidatedAnnotation"]["content"]) == ["my-qa-job"]
    del run.event["labelAttributeName"]
    response = run.consolidate()
    assert list(response[0]["consolidatedAnnotation"]["content"]) == [ATTRIBUTE]


# --- retries, bad answers, unknown images -------------------------------------------------------------


def test_a_retried_invocation_leaves_exactly_the_same_values(run: Run) -> None:
    first = run.consolidate()
    after_first = run.items()
    second = run.consolidate()  # Ground Truth (or a retry) sends the same batch again
    assert second == first
    assert run.items() == after_first


def malformations(ids: list[str]) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {
        "misses an image": lambda c: c.pop(f"image-{ids[0]}"),
        "names a foreign image": lambda c: c.update(
            {f"image-{keys.item_id('s3://x/y.jpg', 'Beaver')}": {"correct": True}}
        ),
        "not a checkbox state": lambda c: c.update({f"image-{ids[1]}": {"correct": "no"}}),
        "not JSON": lambda c: "{not json",
        "no checkboxes": lambda c: {"comment": "skipped"},
    }


@pytest.mark.parametrize("kind", list(malformations(["0" * 16] * 2)))
def test_a_malformed_answer_is_excluded_and_the_rest_consolidated(run: Run, kind: str) -> None:
    annotation = run.payload[0]["annotations"][1]
    content = json.loads(annotation["annotationData"]["content"])
    changed = malformations(run.ids)[kind](content)
    annotation["annotationData"]["content"] = (
        changed if isinstance(changed, str) else json.dumps(changed if isinstance(changed, dict) else content)
    )

    response = run.consolidate()

    content_out = verdicts(response)
    assert [e["workerId"] for e in content_out["excluded_answers"]] == [run.workers[1]]
    assert content_out["excluded_answers"][0]["reason"]
    for n, stored in enumerate(run.items()):
        rejected_by = REJECTED_BY.get(n, set()) - {1}
        assert stored is not None
        assert set(stored["WorkerVerdicts"]) == {run.workers[0], run.workers[2]}
        assert (stored["WorkerConfirmCount"], stored["WorkerDisconfirmCount"]) == (
            2 - len(rejected_by),
            len(rejected_by),
        ), n


def test_an_image_missing_from_the_table_is_reported_and_never_created(cloud: LocalCloud) -> None:
    run = Run(cloud, missing=(5,))
    assert run.item(5) is None

    response = run.consolidate()

    assert verdicts(response)["unknown_images"] == [run.ids[5]]
    stored = run.items()
    assert stored[5] is None  # no half item (counts without image, label or confidence)
    assert all(item is not None and "WorkerConfirmCount" in item for n, item in enumerate(stored) if n != 5)
    assert verdicts(response)["images"][run.ids[5]]["verdict"] == "confirmed"


def test_exactly_one_response_entry_per_data_object(run: Run) -> None:
    good = run.payload[0]
    payload = [
        {**good, "datasetObjectId": "0"},
        {
            "datasetObjectId": "1",
            "dataObject": {"s3Uri": f"s3://{run.cloud.bucket}/beaver/image_0003.jpg"},
            "annotations": good["annotations"],
        },
        {"datasetObjectId": "2", "dataObject": {"content": "a text object"}, "annotations": []},
        {"datasetObjectId": "3", "dataObject": good["dataObject"], "annotations": []},  # every reviewer declined
        {**good, "datasetObjectId": "4", "annotations": good["annotations"][:1]},
    ]
    response = run.consolidate(payload)
    assert [entry["datasetObjectId"] for entry in response] == ["0", "1", "2", "3", "4"]
    assert "not a batch file" in verdicts(response, 1)["error"]
    assert verdicts(response, 2)["error"] == "dataObject has no s3Uri of a batch file"
    assert verdicts(response, 3)["images"] == {}
    assert "error" not in verdicts(response, 0)


# --- writes ------------------------------------------------------------------------------------------


class UpdateItemCounter:
    """Counts DynamoDB UpdateItem calls made through boto3's default session (the functions' clients)."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, params: dict[str, Any], **kwargs: Any) -> None:
        body = json.loads(params["body"])  # the request arrives serialized
        with self._lock:
            self.tables.append(str(body["TableName"]))

    def __enter__(self) -> UpdateItemCounter:
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call.dynamodb.UpdateItem", self)
        aws.reset_clients()  # clients copy the session's handlers when built: build them again
        return self

    def __exit__(self, *exc: object) -> None:
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.unregister("before-call.dynamodb.UpdateItem", self)
        aws.reset_clients()


def with_reviewers(run: Run, count: int) -> list[dict[str, Any]]:
    entry = dict(run.payload[0])
    entry["annotations"] = [
        {
            "workerId": f"private.us-east-1.{n:016x}",
            "annotationData": {
                "content": json.dumps(
                    {f"image-{i}": {"correct": (n + k) % 3 != 0} for k, i in enumerate(sorted(run.ids))}
                )
            },
        }
        for n in range(count)
    ]
    return [entry]


@pytest.mark.parametrize("reviewers", [1, 3, 9])
def test_at_most_one_update_per_image_whatever_the_number_of_reviewers(run: Run, reviewers: int) -> None:
    payload = with_reviewers(run, reviewers)
    with UpdateItemCounter() as counter:
        response = run.consolidate(payload)
    assert len(counter.tables) == len(run.ids) == 25
    assert set(counter.tables) == {run.cloud.table("LabelsTable")}
    assert all(len(image["reviewers"]) == reviewers for image in verdicts(response)["images"].values())


def test_no_update_for_an_image_nobody_answered_validly(run: Run) -> None:
    for annotation in run.payload[0]["annotations"]:
        annotation["annotationData"]["content"] = "{}"
    with UpdateItemCounter() as counter:
        response = run.consolidate()
    assert counter.tables == []
    assert len(verdicts(response)["excluded_answers"]) == 3
    assert all(item is not None and "WorkerConfirmCount" not in item for item in run.items())


def test_answers_stored_by_reference_are_read(run: Run) -> None:
    annotation = run.payload[0]["annotations"][2]
    uri = run.event["payload"]["s3Uri"].replace("consolidation-request", "worker-response")
    run.put(uri, json.loads(annotation["annotationData"]["content"]))
    annotation["annotationData"] = {"s3Uri": uri}
    response = run.consolidate()
    assert verdicts(response)["excluded_answers"] == []
    assert verdicts(response)["images"][run.ids[24]]["rejects"] == 1


def test_a_request_without_a_payload_is_an_invalid_event(run: Run) -> None:
    del run.event["payload"]
    with pytest.raises(HandlerError) as error:
        run.cloud.invoke(run.cloud.function_by_logical_id("PostLabelingFunction").name, run.event)
    assert error.value.error_type == "InvalidEvent"
    assert "payload.s3Uri" in error.value.message
