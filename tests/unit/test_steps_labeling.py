"""The labeling steps, Ground Truth's hooks and the analysis step on in-memory fakes.

start_labeling_job, on_labeling_job_event, pre_labeling, post_labeling and analyze, each through
``tests/support/fakes.py``; tests/handlers runs the same steps on moto for the wiring.
"""

from __future__ import annotations

import copy
import functools
import json

import pytest

from bulkqa import analyze_step, keys, steps
from bulkqa.errors import InvalidEvent, LabelingJobFailed, LabelingJobStopped, MalformedBatch
from bulkqa.labeling import JobSpec
from bulkqa.model import BatchesResult, JobPart, StartJobResult
from tests.support.fakes import FakeReviewBackend, FakeStack

HEADER = "image_local_path,label,confidence\n"
ROWS = [f"crab/{n}.jpg,Crab,{80 + n}" for n in range(6)] + [f"dog/{n}.jpg,Dog,{90 + n}" for n in range(3)]
DATA = (HEADER + "".join(f"{row}\n" for row in ROWS)).encode()


@functools.cache
def _batched_once() -> tuple[FakeStack, str, BatchesResult]:
    ready = FakeStack()
    run_id, out = ready.batches(DATA)
    return ready, run_id, out


def batched(world: FakeStack) -> tuple[str, BatchesResult]:
    """``world`` as after make_batches on DATA (ingested once per module, then copied: the fakes are plain data)."""
    ready, run_id, out = _batched_once()
    world.store, world.labels, world.runs = copy.deepcopy((ready.store, ready.labels, ready.runs))
    return run_id, copy.deepcopy(out)


def start_event(job: JobPart, token: str = "token-1") -> dict[str, object]:
    return {**job, "token": token}


def start(world: FakeStack, job: JobPart, token: str = "token-1") -> StartJobResult:
    return steps.start_labeling_job(
        start_event(job, token), world.labeling_settings, world.store, world.runs, world.backend, world.callbacks
    )


# --- start_labeling_job -------------------------------------------------------------------------------


def test_the_token_is_stored_before_the_job_starts() -> None:
    world = FakeStack()
    seen: list[object] = []
    world.backend = FakeReviewBackend(on_start=lambda spec: seen.append(world.runs.get(f"job#{spec.name}")))
    run_id, out = batched(world)
    result = start(world, out["jobs"][0])
    name = keys.job_name(run_id, 0)
    assert result == {"job_name": name, "job_arn": world.backend.arn_for(name)}
    (record,) = seen
    assert isinstance(record, dict) and record["token"] == "token-1" and record["run_id"] == run_id
    (spec,) = world.backend.started
    assert spec == JobSpec(
        run_id,
        0,
        out["jobs"][0]["manifest"],
        out["tasks"],
        f"s3://bkt/{keys.worker_template_key(run_id)}",
        f"s3://bkt/{keys.labeling_output_prefix(run_id)}",
    )
    assert world.store.objects[keys.worker_template_key(run_id)] == steps.worker_template()
    assert world.callbacks.sent == []  # still running: the workflow waits for the event


def test_starting_again_after_a_timeout_makes_no_second_job() -> None:
    world = FakeStack()
    _, out = batched(world)
    start(world, out["jobs"][0], "token-1")
    start(world, out["jobs"][0], "token-2")
    assert len(world.backend.started) == 1
    assert world.runs.records[f"job#{world.backend.started[0].name}"]["token"] == "token-2"


def test_a_job_that_already_completed_is_delivered_at_once() -> None:
    world = FakeStack()
    world.backend = FakeReviewBackend(status_on_start="Completed")
    _, out = batched(world)
    result = start(world, out["jobs"][0])
    assert world.callbacks.sent == [
        (
            "token-1",
            "success",
            {"job_name": result["job_name"], "status": "Completed", "output_manifest": "", "counters": {}},
        )
    ]
    assert world.backend.delivered_jobs == [result["job_name"]]  # the backend stops tracking it


def test_a_job_still_running_is_not_marked_delivered() -> None:
    world = FakeStack()
    _, out = batched(world)
    start(world, out["jobs"][0])
    assert world.backend.delivered_jobs == [] and world.callbacks.sent == []


@pytest.mark.parametrize(("status", "error"), [("Failed", LabelingJobFailed), ("Stopped", LabelingJobStopped)])
def test_a_job_that_failed_or_stopped_fails_the_wait(status: str, error: type[Exception]) -> None:
    world = FakeStack()
    world.backend = FakeReviewBackend(status_on_start=status)
    _, out = batched(world)
    start(world, out["jobs"][0])
    ((token, name, _),) = world.callbacks.sent
    assert (token, name) == ("token-1", error.__name__)


@pytest.mark.parametrize("missing", ["run_id", "token", "manifest"])
def test_start_needs_its_fields(missing: str) -> None:
    world = FakeStack()
    _, out = batched(world)
    event = start_event(out["jobs"][0])
    del event[missing]
    with pytest.raises(InvalidEvent, match=missing):
        steps.start_labeling_job(
            event, world.labeling_settings, world.store, world.runs, world.backend, world.callbacks
        )


# --- on_labeling_job_event ----------------------------------------------------------------------------


def job_event(world: FakeStack, name: str, status: str = "Completed") -> dict[str, object]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Ground Truth Labeling Job State Change",
        "resources": [world.backend.arn_for(name)],
        "detail": {"LabelingJobStatus": status},
    }


def on_event(world: FakeStack, event: dict[str, object]) -> dict[str, object]:
    return dict(steps.on_labeling_job_event(event, world.runs, world.backend, world.callbacks))


def test_an_unknown_job_is_ignored() -> None:
    world = FakeStack()
    world.backend.finish("bulkqa-elsewhere-p00", "Completed")
    assert on_event(world, job_event(world, "bulkqa-elsewhere-p00")) == {"resumed": False, "reason": "unknown job"}
    assert world.callbacks.sent == []


@pytest.mark.parametrize(
    ("resources", "reason"),
    [([], "no job ARN"), (None, "no job ARN"), (["arn:aws:s3:::bucket"], "not a labeling job")],
)
def test_events_without_a_labeling_job_are_ignored(resources: object, reason: str) -> None:
    world = FakeStack()
    assert on_event(world, {"resources": resources}) == {"resumed": False, "reason": reason}


def test_completed_resumes_the_run_once() -> None:
    world = FakeStack()
    _, out = batched(world)
    name = start(world, out["jobs"][0])["job_name"]
    assert on_event(world, job_event(world, name)) == {"resumed": False, "reason": "status InProgress"}
    world.backend.finish(name, "Completed", counters={"TotalLabeled": 3})
    assert on_event(world, job_event(world, name)) == {"resumed": True, "job": name, "status": "Completed"}
    ((token, kind, output),) = world.callbacks.sent
    assert (token, kind) == ("token-1", "success")
    assert isinstance(output, dict) and output["counters"] == {"TotalLabeled": 3}
    # a duplicate event: the token is no longer waiting
    assert on_event(world, job_event(world, name)) == {"resumed": False, "job": name, "status": "Completed"}


def test_the_status_is_read_from_the_job_not_from_the_event() -> None:
    world = FakeStack()
    _, out = batched(world)
    name = start(world, out["jobs"][0])["job_name"]
    world.backend.finish(name, "Failed", failure_reason="no workers")
    assert on_event(world, job_event(world, name, "Completed"))["status"] == "Failed"
    ((_, error, cause),) = world.callbacks.sent
    assert error == "LabelingJobFailed" and "no workers" in str(cause)


# --- pre_labeling -----------------------------------------------------------------------------------------


def test_pre_labeling_turns_a_batch_file_into_the_task_input() -> None:
    world = FakeStack()
    run_id, _ = batched(world)
    uri = f"s3://bkt/{world.store.keys(f'runs/{run_id}/batches/')[0]}"
    result = steps.pre_labeling({"dataObject": {"source-ref": uri}}, world.store.read_text)
    assert result["isHumanAnnotationRequired"] is True
    task = result["taskInput"]
    assert (task["label"], task["image_count"], task["batch_id"]) == ("Crab", 6, keys.parse_batch_uri(uri).batch_id)
    assert task["images"][0] == {
        "id": keys.item_id("s3://bkt/crab/0.jpg", "Crab"),
        "uri": "s3://bkt/crab/0.jpg",
        "name": "crab/0.jpg",
        "confidence": 80.0,
    }


@pytest.mark.parametrize(
    ("content", "message"), [(None, "cannot read"), (b"{not json", "is not JSON"), (b"[]", "not a JSON object")]
)
def test_pre_labeling_refuses_a_bad_batch_file(content: bytes | None, message: str) -> None:
    world = FakeStack()
    run_id, _ = batched(world)
    key = world.store.keys(f"runs/{run_id}/batches/")[0]
    if content is None:
        del world.store.objects[key]
    else:
        world.store.objects[key] = content
    with pytest.raises(MalformedBatch, match=message):
        steps.pre_labeling({"dataObject": {"source-ref": f"s3://bkt/{key}"}}, world.store.read_text)


def test_pre_labeling_needs_a_source_ref() -> None:
    with pytest.raises(MalformedBatch, match="source-ref"):
        steps.pre_labeling({"dataObject": {}}, FakeStack().store.read_text)


# --- post_labeling ---------------------------------------------------------------------------------------


def answers(world: FakeStack, run_id: str, reject: set[str], workers: tuple[str, ...] = ("w1",)) -> str:
    """A consolidation request (every batch, each worker's answer inline); returns its URI."""
    payload = []
    for n, key in enumerate(world.store.keys(f"runs/{run_id}/batches/")):
        batch = world.store.json(key)
        assert isinstance(batch, dict)
        ids = [item["id"] for item in batch["items"]]
        annotations = [
            {
                "workerId": worker,
                "annotationData": {"content": json.dumps({f"image-{i}": {"correct": i not in reject} for i in ids})},
            }
            for worker in workers
        ]
        payload.append(
            {"datasetObjectId": str(n), "dataObject": {"s3Uri": f"s3://bkt/{key}"}, "annotations": annotations}
        )
    key = f"runs/{run_id}/labeling-output/consolidation-request/iteration-1/0.json"
    world.store.put_json(key, payload)
    return f"s3://bkt/{key}"


def consolidation_event(run_id: str, uri: str) -> dict[str, object]:
    return {
        "version": "2018-10-16",
        "labelingJobArn": f"arn:aws:sagemaker:us-east-1:000000000000:labeling-job/{keys.job_name(run_id, 0)}",
        "labelAttributeName": keys.LABEL_ATTRIBUTE_NAME,
        "payload": {"s3Uri": uri},
    }


def test_post_labeling_writes_each_image_once() -> None:
    world = FakeStack()
    run_id, _ = batched(world)
    wrong = keys.item_id("s3://bkt/crab/2.jpg", "Crab")
    uri = answers(world, run_id, {wrong}, workers=("w1", "w2"))
    entries = steps.post_labeling(consolidation_event(run_id, uri), world.labels, world.store.read_text)
    assert world.labels.calls["set_verdicts"] == len(ROWS)
    assert [entry["datasetObjectId"] for entry in entries] == ["0", "1"]
    content = entries[0]["consolidatedAnnotation"]["content"][keys.LABEL_ATTRIBUTE_NAME]
    assert content["images"][wrong] == {
        "verdict": "disconfirmed",
        "confirms": 0,
        "rejects": 2,
        "reviewers": {"w1": "reject", "w2": "reject"},
    }
    assert content["unknown_images"] == [] and content["excluded_answers"] == []
    item = world.labels.item(run_id, wrong)
    assert (item["WorkerConfirmCount"], item["WorkerDisconfirmCount"]) == (0, 2)
    assert item["labeling_job"] == keys.job_name(run_id, 0) and item["batch_id"] == content["batch_id"]


def test_images_not_in_the_table_are_reported_not_created() -> None:
    world = FakeStack()
    run_id, _ = batched(world)
    gone = keys.item_id("s3://bkt/dog/1.jpg", "Dog")
    del world.labels.items[keys.partition(run_id, gone), gone]
    uri = answers(world, run_id, set())
    entries = steps.post_labeling(consolidation_event(run_id, uri), world.labels, world.store.read_text)
    dog = entries[1]["consolidatedAnnotation"]["content"][keys.LABEL_ATTRIBUTE_NAME]
    assert dog["unknown_images"] == [gone]
    assert (keys.partition(run_id, gone), gone) not in world.labels.items


def test_post_labeling_needs_the_payload_uri() -> None:
    world = FakeStack()
    with pytest.raises(InvalidEvent, match=r"payload\.s3Uri"):
        steps.post_labeling({"labelingJobArn": "arn"}, world.labels, world.store.read_text)


# --- analyze ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("partial", [False, True])
def test_analyze_writes_the_reports_and_returns_the_totals(partial: bool) -> None:
    world = FakeStack()
    run_id, _ = batched(world)
    wrong = {keys.item_id("s3://bkt/crab/2.jpg", "Crab"), keys.item_id("s3://bkt/dog/0.jpg", "Dog")}
    steps.post_labeling(consolidation_event(run_id, answers(world, run_id, wrong)), world.labels, world.store.read_text)

    result = analyze_step.analyze(
        {"run_id": run_id, "partial": partial}, world.analysis_settings, world.store, world.labels, world.runs
    )

    prefix = keys.report_prefix(run_id)
    assert result == {
        "run_id": run_id,
        "report_prefix": f"s3://bkt/{prefix}",
        "partial": partial,
        "rows": {"total": 9, "accepted": 9, "rejected": 0, "below_min_confidence": 0, "blank_lines": 0},
        "reviewed": 9,
        "confirmed": 7,
        "disconfirmed": 2,
        "pct_correct": pytest.approx(100 * 7 / 9),
    }
    files = {key[len(prefix) :] for key in world.store.keys(prefix)}
    assert {"report.json", "report.csv", "report.md", "report.html", "rejected.csv"} <= files
    assert world.store.content_types[prefix + "report.html"] == "text/html; charset=utf-8"
    report = world.store.json(prefix + "report.json")
    assert isinstance(report, dict)
    assert report["totals"]["total"] == 9 and report["partial"] is partial
    assert world.store.objects[prefix + "rejected.csv"] == world.store.objects[keys.rejected_key(run_id)]
    assert world.runs.records[f"run#{run_id}"]["status"] == ("partial report" if partial else "analyzed")
