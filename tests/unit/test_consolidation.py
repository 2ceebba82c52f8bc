"""bulkqa.consolidation: reviewers' checkbox answers -> per-image confirm/reject counts.

Answers are mapped back to images by the id in each checkbox name, never by position: Ground Truth's
documented example lists answer keys alphabetically, which is not the order of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import pytest

from bulkqa import consolidation, keys
from bulkqa.errors import MalformedAnswer
from tests.support.batches import Batch, make_batch
from tests.support.events import load_event, load_json

WORKERS = ["private.us-east-1.aaaa", "private.us-east-1.bbbb", "private.us-east-1.cccc"]


def answer(ids: list[str], rejected: Collection[int] = ()) -> dict[str, Any]:
    """A crowd-form answer: every checkbox, checked (true) unless its position is rejected; keys sorted."""
    content = {f"image-{item}": {"correct": n not in rejected} for n, item in enumerate(ids)}
    return dict(sorted(content.items()))


def entry(batch: Batch, answers: dict[str, Any], object_id: str = "0") -> dict[str, Any]:
    return {
        "datasetObjectId": object_id,
        "dataObject": {"s3Uri": batch.ref.uri},
        "annotations": [
            {"workerId": worker, "annotationData": {"content": json.dumps(content)}}
            for worker, content in answers.items()
        ],
    }


def no_reads(uri: str) -> str:
    raise AssertionError(f"unexpected read of {uri}")


@pytest.fixture
def batch() -> Batch:
    return make_batch(25)


# --- one answer ------------------------------------------------------------------------------------


def test_answer_keys_in_alphabetical_order_map_back_by_id(batch: Batch) -> None:
    content = answer(batch.ids, {0, 24})
    assert list(content) != [f"image-{i}" for i in batch.ids]  # the key order is not the batch order
    verdicts = consolidation.verdicts_from_answer(content, batch.ref)
    assert verdicts == {item: n not in {0, 24} for n, item in enumerate(batch.ids)}


def test_other_form_fields_are_ignored(batch: Batch) -> None:
    content = answer(batch.ids, {3})
    content["comment"] = "blurry images"
    content["flags"] = {"blurry": True}
    assert consolidation.verdicts_from_answer(content, batch.ref)[batch.ids[3]] is False


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c, ids: c.pop(f"image-{ids[0]}"), "are not the images of batch"),
        (
            lambda c, ids: c.update({f"image-{keys.item_id('s3://b/x.jpg', 'Crab')}": {"correct": True}}),
            "are not the images of batch",
        ),
        (lambda c, ids: c.update({"image-notanid": {"correct": True}}), "does not name an image id"),
        (lambda c, ids: c.update({f"image-{ids[1]}": {"correct": "true"}}), "is not a checkbox state"),
        (lambda c, ids: c.update({f"image-{ids[1]}": {"on": True}}), "is not a checkbox state"),
        (lambda c, ids: c.update({f"image-{ids[1]}": True}), "is not a checkbox state"),
        (lambda c, ids: c.clear(), "has no image checkboxes"),
    ],
)
def test_answers_that_do_not_fit_the_batch(batch: Batch, mutate: Any, message: str) -> None:
    content = answer(batch.ids)
    mutate(content, batch.ids)
    with pytest.raises(MalformedAnswer, match=message):
        consolidation.verdicts_from_answer(content, batch.ref)


def test_an_answer_must_be_an_object(batch: Batch) -> None:
    with pytest.raises(MalformedAnswer, match="not a JSON object"):
        consolidation.verdicts_from_answer(["image-x"], batch.ref)  # type: ignore[arg-type]


def test_an_answer_for_another_batch_is_refused() -> None:
    turtles, crabs = make_batch(25), make_batch(25, "Crab")
    with pytest.raises(MalformedAnswer, match="are not the images of batch"):
        consolidation.verdicts_from_answer(answer(crabs.ids), turtles.ref)


# --- tallies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "verdict", "confirms", "rejects"),
    [
        ({}, "unreviewed", 0, 0),
        ({"a": "confirm"}, "confirmed", 1, 0),
        ({"a": "confirm", "b": "confirm"}, "confirmed", 2, 0),
        ({"a": "reject", "b": "reject"}, "disconfirmed", 0, 2),
        ({"a": "confirm", "b": "reject", "c": "reject"}, "split", 1, 2),
    ],
)
def test_image_tally(votes: dict[str, str], verdict: str, confirms: int, rejects: int) -> None:
    tally = consolidation.ImageTally("0123456789abcdef", dict(votes))
    assert (tally.verdict, tally.confirms, tally.rejects) == (verdict, confirms, rejects)


# --- a whole payload -------------------------------------------------------------------------------


def test_three_reviewers_with_mixed_answers(batch: Batch) -> None:
    answers = dict(
        zip(WORKERS, [answer(batch.ids, {3, 7}), answer(batch.ids, {7, 12}), answer(batch.ids, {7})], strict=True)
    )
    (result,) = consolidation.consolidate([entry(batch, answers)], no_reads)
    assert result.batch == batch.ref
    assert result.excluded == []
    by_position = {n: result.images[item] for n, item in enumerate(batch.ids)}
    assert by_position[7].verdict == "disconfirmed"
    assert (by_position[7].confirms, by_position[7].rejects) == (0, 3)
    assert by_position[3].verdict == by_position[12].verdict == "split"
    assert (by_position[3].confirms, by_position[3].rejects) == (2, 1)
    assert sum(t.verdict == "confirmed" for t in by_position.values()) == 22
    assert by_position[3].reviewers == {WORKERS[0]: "reject", WORKERS[1]: "confirm", WORKERS[2]: "confirm"}


def test_the_sample_payload_in_events() -> None:
    """events/post_labeling_payload.json: three reviewers, 2 disconfirmed, 4 split, 19 confirmed."""
    batch = load_event("batch")
    payload = load_json("post_labeling_payload")
    (result,) = consolidation.consolidate(payload, no_reads)
    ids = [item["id"] for item in batch["items"]]
    verdicts = [result.images[item].verdict for item in ids]
    assert [n for n, v in enumerate(verdicts) if v == "disconfirmed"] == [7, 15]
    assert [n for n, v in enumerate(verdicts) if v == "split"] == [3, 12, 20, 24]
    assert verdicts.count("confirmed") == 19
    assert all(len(result.images[item].reviewers) == 3 for item in ids)


def test_a_malformed_answer_is_excluded_and_the_others_consolidated(batch: Batch) -> None:
    good = answer(batch.ids, {1})
    broken = answer(batch.ids[:-1])  # misses an image
    (result,) = consolidation.consolidate([entry(batch, {WORKERS[0]: good, WORKERS[1]: broken})], no_reads)
    assert result.excluded == [{"workerId": WORKERS[1], "reason": result.excluded[0]["reason"]}]
    assert "are not the images of batch" in result.excluded[0]["reason"]
    assert all(set(t.reviewers) == {WORKERS[0]} for t in result.images.values())
    assert result.images[batch.ids[1]].verdict == "disconfirmed"


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ({"workerId": "w", "annotationData": {"content": "{not json"}}, "is not JSON"),
        ({"workerId": "w", "annotationData": {}}, "neither content nor s3Uri"),
        ({"workerId": "w"}, "has no annotationData"),
        ({"workerId": "w", "annotationData": {"content": "[]"}}, "not a JSON object"),
    ],
)
def test_unreadable_annotations_are_excluded(batch: Batch, annotation: dict[str, Any], reason: str) -> None:
    payload = entry(batch, {WORKERS[0]: answer(batch.ids)})
    payload["annotations"].append(annotation)
    (result,) = consolidation.consolidate([payload], no_reads)
    assert [e["workerId"] for e in result.excluded] == ["w"]
    assert reason in result.excluded[0]["reason"]
    assert len(result.images) == 25


def test_an_annotation_that_is_not_an_object_is_excluded(batch: Batch) -> None:
    payload = entry(batch, {WORKERS[0]: answer(batch.ids)})
    payload["annotations"].append("oops")
    (result,) = consolidation.consolidate([payload], no_reads)
    assert result.excluded == [{"workerId": "unknown", "reason": "annotation is not an object"}]


@pytest.mark.parametrize("spelling", ["s3Uri", "s3uri"])
def test_annotation_data_by_reference(batch: Batch, spelling: str) -> None:
    uri = "s3://bkt/runs/r/labeling-output/job/annotations/worker-response/iteration-1/0/answer.json"
    stored = {uri: json.dumps(answer(batch.ids, {2}))}
    payload = entry(batch, {})
    payload["annotations"] = [{"workerId": "w", "annotationData": {spelling: uri}}]
    (result,) = consolidation.consolidate([payload], stored.__getitem__)
    assert result.images[batch.ids[2]].verdict == "disconfirmed"


def test_content_already_decoded_is_accepted(batch: Batch) -> None:
    payload = entry(batch, {})
    payload["annotations"] = [{"workerId": "w", "annotationData": {"content": answer(batch.ids, {0})}}]
    (result,) = consolidation.consolidate([payload], no_reads)
    assert result.images[batch.ids[0]].rejects == 1


def test_the_same_reviewer_twice_counts_once(batch: Batch) -> None:
    payload = entry(batch, {WORKERS[0]: answer(batch.ids, {4})})
    payload["annotations"] = payload["annotations"] * 2
    (result,) = consolidation.consolidate([payload], no_reads)
    assert (result.images[batch.ids[4]].rejects, result.images[batch.ids[4]].confirms) == (1, 0)


def test_one_result_per_data_object_in_payload_order(batch: Batch) -> None:
    other = make_batch(10, "Crab", seq=13)
    payload = [
        entry(batch, {WORKERS[0]: answer(batch.ids)}, "0"),
        {"datasetObjectId": "1", "dataObject": {"s3Uri": "s3://bkt/images/crab/1.jpg"}, "annotations": []},
        {"datasetObjectId": "2", "dataObject": {"content": "text"}},
        "not an object",
        entry(other, {WORKERS[0]: answer(other.ids, {0})}, "4"),
        {"datasetObjectId": 5, "dataObject": {"s3Uri": other.ref.uri}, "annotations": None},
    ]
    results = consolidation.consolidate(payload, no_reads)
    assert [r.dataset_object_id for r in results] == ["0", "1", "2", "", "4", "5"]
    assert [r.error is None for r in results] == [True, False, False, False, True, True]
    assert "not a batch file" in str(results[1].error)
    assert results[2].error == "dataObject has no s3Uri of a batch file"
    assert results[3].error == "payload entry is not an object"
    assert results[5].images == {}


def test_a_payload_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(MalformedAnswer, match="not a JSON list"):
        consolidation.consolidate({"datasetObjectId": "0"}, no_reads)


# --- the response entry ----------------------------------------------------------------------------


def test_response_entry(batch: Batch) -> None:
    answers = {WORKERS[1]: answer(batch.ids, {0}), WORKERS[0]: answer(batch.ids)}
    (result,) = consolidation.consolidate([entry(batch, answers, "7")], no_reads)
    unknown = [batch.ids[5], batch.ids[2], batch.ids[5]]
    response = result.response_entry("bulk-qa-verdicts", unknown)
    assert list(response) == ["datasetObjectId", "consolidatedAnnotation"]
    assert response["datasetObjectId"] == "7"
    content = response["consolidatedAnnotation"]["content"]
    assert list(content) == ["bulk-qa-verdicts"]
    verdicts = content["bulk-qa-verdicts"]
    assert verdicts["batch_id"] == batch.ref.batch_id
    assert verdicts["unknown_images"] == sorted({batch.ids[2], batch.ids[5]})
    assert verdicts["excluded_answers"] == []
    assert "error" not in verdicts
    assert list(verdicts["images"]) == sorted(batch.ids)
    first = verdicts["images"][batch.ids[0]]
    assert first == {
        "verdict": "split",
        "confirms": 1,
        "rejects": 1,
        "reviewers": {WORKERS[0]: "confirm", WORKERS[1]: "reject"},
    }
    assert list(first["reviewers"]) == sorted(first["reviewers"])
    json.dumps(response)  # plain JSON


def test_response_entry_of_an_object_that_could_not_be_read() -> None:
    (result,) = consolidation.consolidate([{"datasetObjectId": "3", "dataObject": {}}], no_reads)
    verdicts = result.response_entry("attr")["consolidatedAnnotation"]["content"]["attr"]
    assert verdicts == {
        "batch_id": None,
        "images": {},
        "excluded_answers": [],
        "unknown_images": [],
        "error": "dataObject has no s3Uri of a batch file",
    }
