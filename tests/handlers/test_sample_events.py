"""events/: every sample event is consistent with sample.csv and the state machine, and runs its function.

First the derived values (run id, chunk offsets, batch digest, item ids, job name) are recomputed
from ``local/bulkqa_local/data/sample.csv`` with the project's own functions, and the step inputs are
compared with what ``statemachine/bulk_qa.asl.json`` passes. Then every event goes through its
function, in workflow order, in one local stack holding what each step reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulkqa import batching, csvfile, ingest, keys
from bulkqa_local.cloud import HandlerError, LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers
from tests.support import batching_reference as reference
from tests.support.events import (
    EVENTS_DIR,
    EXAMPLE_BUCKET,
    EXAMPLE_RUN_ID,
    event_names,
    event_path,
    load_event,
    load_json,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "local" / "bulkqa_local" / "data" / "sample.csv").read_bytes()
KEY = "incoming/sample.csv"
ASL = json.loads((ROOT / "statemachine" / "bulk_qa.asl.json").read_text(encoding="utf-8"))

FUNCTION_OF = {  # sample event -> the function it is for (logical id); None: a data file
    "s3_object_created": "RegisterRunFunction",
    "register_run": "RegisterRunFunction",
    "plan_ingest": "PlanIngestFunction",
    "ingest_labels": "IngestLabelsFunction",
    "make_batches": "MakeBatchesFunction",
    "start_labeling_job": "StartLabelingJobFunction",
    "labeling_job_state_change": "OnLabelingJobEventFunction",
    "labeling_job_failed": "OnLabelingJobEventFunction",
    "analyze_results": "AnalyzeResultsFunction",
    "pre_labeling": "PreLabelingFunction",
    "post_labeling": "PostLabelingFunction",
    "batch": None,
    "post_labeling_payload": None,
}


# --- the files ----------------------------------------------------------------------------------------


def test_every_sample_event_is_known_and_documented() -> None:
    assert event_names() == sorted(FUNCTION_OF)
    readme = (EVENTS_DIR / "README.md").read_text(encoding="utf-8")
    for name, function in FUNCTION_OF.items():
        assert f"`{name}.json`" in readme, name
        if function and name != "s3_object_created":
            assert f"sam local invoke -e events/{name}.json {function}" in readme, name
            folder = "on_labeling_job_event" if function == "OnLabelingJobEventFunction" else name
            assert f"bulkqa invoke {folder} --event events/{name}.json" in readme, name


@pytest.mark.parametrize("name", sorted(FUNCTION_OF))
def test_files_are_pretty_printed_json(name: str) -> None:
    text = event_path(name).read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_the_s3_event_has_the_aws_documentation_shape() -> None:
    event = load_event("s3_object_created")
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["resources"] == [f"arn:aws:s3:::{EXAMPLE_BUCKET}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    detail = event["detail"]
    assert list(detail) == ["version", "bucket", "object", "request-id", "requester", "source-ip-address", "reason"]
    assert detail["bucket"] == {"name": EXAMPLE_BUCKET}
    assert detail["reason"] == "PutObject"
    obj = detail["object"]
    assert list(obj) == ["key", "size", "etag", "version-id", "sequencer"]
    assert obj["key"] == KEY
    assert obj["size"] == len(SAMPLE)
    assert obj["etag"] == hashlib.md5(SAMPLE).hexdigest()
    assert re.fullmatch(r"[0-9A-F]{16,}", obj["sequencer"])


def test_the_labeling_job_events_have_the_documented_shape() -> None:
    for name, status in (("labeling_job_state_change", "Completed"), ("labeling_job_failed", "Failed")):
        event = load_event(name)
        assert event["source"] == "aws.sagemaker"
        assert event["detail-type"] == "SageMaker Ground Truth Labeling Job State Change"
        assert event["detail"] == {"LabelingJobStatus": status}  # nothing else: the job is in resources[0]
        assert event["resources"] == [
            f"arn:aws:sagemaker:us-east-1:111122223333:labeling-job/{keys.job_name(EXAMPLE_RUN_ID, 0)}"
        ]


# --- derived values, recomputed -------------------------------------------------------------------------


def sample_plan() -> tuple[csvfile.Header, list[csvfile.Chunk], int, str]:
    header = csvfile.read_header(SAMPLE)
    scale = csvfile.decide_scale(csvfile.sample_confidences(SAMPLE, header), "auto")
    chunks, records = csvfile.plan_chunks([SAMPLE[header.data_start :]], header.data_start, 4 * 1024 * 1024)
    return header, chunks, records, scale


def sample_batches() -> list[batching.Batch]:
    header, chunks, _, scale = sample_plan()
    (chunk,) = chunks
    result = ingest.validate_chunk(
        SAMPLE[chunk.start : chunk.end], 0, chunk.first_line, header, ingest.Rules(EXAMPLE_BUCKET, "", 0.0, scale)
    )
    return reference.make_batches(reference.deduplicate(result.accepted).rows, 25)


def test_the_run_id_is_that_of_the_upload() -> None:
    obj = load_event("s3_object_created")["detail"]["object"]
    assert keys.run_id_for(EXAMPLE_BUCKET, obj["key"], obj["version-id"]) == EXAMPLE_RUN_ID
    for name in ("plan_ingest", "ingest_labels", "make_batches", "start_labeling_job", "analyze_results"):
        assert load_event(name)["run_id"] == EXAMPLE_RUN_ID, name


def test_the_ingest_events_match_the_plan_of_sample_csv() -> None:
    header, chunks, records, scale = sample_plan()
    source = {
        "bucket": EXAMPLE_BUCKET,
        "key": KEY,
        "version": load_event("s3_object_created")["detail"]["object"]["version-id"],
        "size": len(SAMPLE),
    }
    assert load_event("plan_ingest") == {"run_id": EXAMPLE_RUN_ID, "source": source}
    item = load_event("ingest_labels")
    assert item == {
        "run_id": EXAMPLE_RUN_ID,
        "source": source,
        "ingest": {
            "plan_key": keys.plan_key(EXAMPLE_RUN_ID),
            "chunks": len(chunks),
            "records": records,
            "scale": scale,
            "header": header.to_json(),
        },
        "chunk": chunks[0].to_json(),
    }
    assert load_event("make_batches") == {"run_id": EXAMPLE_RUN_ID, "ingest": {"chunks": len(chunks)}}


def test_the_batch_is_the_first_one_make_batches_writes_for_sample_csv() -> None:
    batches = sample_batches()
    first = batches[0]
    assert load_event("batch") == json.loads(json.dumps(first.document(EXAMPLE_RUN_ID)))
    assert len(first.items) == 25
    assert load_event("pre_labeling")["dataObject"] == json.loads(first.manifest_line(EXAMPLE_RUN_ID, EXAMPLE_BUCKET))
    job = load_event("start_labeling_job")
    assert job["manifest"] == f"s3://{EXAMPLE_BUCKET}/{keys.manifest_key(EXAMPLE_RUN_ID, 0)}"
    assert job["tasks"] == len(batches) == 26
    assert job["part"] == 0
    assert job["token"]


def test_the_pre_labeling_event_points_at_the_batch() -> None:
    batch = load_event("batch")
    ids = [item["id"] for item in batch["items"]]
    ref = keys.parse_batch_uri(load_event("pre_labeling")["dataObject"]["source-ref"])
    assert (ref.bucket, ref.run_id, ref.seq) == (EXAMPLE_BUCKET, EXAMPLE_RUN_ID, 0)
    assert ref.digest == keys.batch_digest(ids)
    assert all(item["id"] == keys.item_id(item["s3_uri"], batch["label"]) for item in batch["items"])
    assert load_event("pre_labeling")["labelingJobArn"] == load_event("labeling_job_state_change")["resources"][0]


def test_the_post_labeling_request_and_payload_fit_the_batch() -> None:
    event = load_event("post_labeling")
    job = keys.job_name(EXAMPLE_RUN_ID, 0)
    assert event["labelingJobArn"].endswith(f":labeling-job/{job}")
    assert event["labelAttributeName"] == keys.LABEL_ATTRIBUTE_NAME
    assert event["payload"]["s3Uri"].startswith(
        f"s3://{EXAMPLE_BUCKET}/{keys.labeling_output_prefix(EXAMPLE_RUN_ID)}{job}/annotations/"
    )
    (entry,) = load_json("post_labeling_payload")
    assert entry["dataObject"] == {"s3Uri": load_event("pre_labeling")["dataObject"]["source-ref"]}
    ids = sorted(item["id"] for item in load_event("batch")["items"])
    workers = [a["workerId"] for a in entry["annotations"]]
    assert len(set(workers)) == 3
    for annotation in entry["annotations"]:
        content = json.loads(annotation["annotationData"]["content"])
        assert list(content) == [f"image-{i}" for i in ids]  # every checkbox, keys sorted
        assert all(set(v) == {"correct"} and isinstance(v["correct"], bool) for v in content.values())


# --- the state machine's step inputs ------------------------------------------------------------------------


def payload_shape(template: Any) -> Any:
    """The keys a Parameters/Payload template produces (``name.$`` -> ``name``), nested."""
    if not isinstance(template, dict):
        return None
    return {key.removesuffix(".$"): payload_shape(value) for key, value in template.items()}


def event_shape(event: Any, template: Any) -> Any:
    if not isinstance(template, dict):
        return None
    return {key: event_shape(event[key], template[key]) for key in event} if isinstance(event, dict) else event


def states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def task_payload(function: str) -> Any:
    wanted = f"${{{function}Arn}}"
    found = [s["Parameters"] for _, s in states(ASL) if s.get("Parameters", {}).get("FunctionName") == wanted]
    assert found, function
    return found[0].get("Payload") or found[0].get("Payload.$")


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("plan_ingest", "PlanIngestFunction"),
        ("make_batches", "MakeBatchesFunction"),
        ("start_labeling_job", "StartLabelingJobFunction"),
        ("analyze_results", "AnalyzeResultsFunction"),
    ],
)
def test_step_events_have_the_keys_the_state_machine_passes(name: str, function: str) -> None:
    shape = payload_shape(task_payload(function))
    event = load_event(name)
    assert set(event) == set(shape), name
    for key, sub in shape.items():
        if isinstance(sub, dict):
            assert set(event[key]) == set(sub), (name, key)


def test_the_ingest_item_has_the_keys_of_the_item_selector_and_the_plan_result() -> None:
    ingest_map = ASL["States"]["Ingest the rows"]
    assert set(load_event("ingest_labels")) == set(payload_shape(ingest_map["ItemSelector"]))
    plan_result = payload_shape(ASL["States"]["Check the file and plan the ingest"]["ResultSelector"])
    assert set(load_event("ingest_labels")["ingest"]) == set(plan_result)
    assert task_payload("RegisterRunFunction") == "$"  # the whole S3 event


# --- every event through its function, in workflow order --------------------------------------------------


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Any]]:
    """Invoke every sample event (aimed at the local bucket) once, in order; each result or HandlerError."""
    with LocalCloud(reviewers=SimulatedReviewers()) as cloud:
        s3 = cloud.client("s3")
        s3.put_bucket_notification_configuration(Bucket=cloud.bucket, NotificationConfiguration={})
        version = s3.put_object(Bucket=cloud.bucket, Key=KEY, Body=SAMPLE)["VersionId"]
        got: dict[str, Any] = {"bucket": cloud.bucket, "version": version}

        def put(uri: str, body: Any) -> None:
            bucket, key = uri[5:].split("/", 1)
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())

        def invoke(name: str, event: dict[str, Any]) -> None:
            function = cloud.function_by_logical_id(str(FUNCTION_OF[name])).name
            try:
                got[name] = cloud.invoke(function, event)
            except HandlerError as exc:
                got[name] = exc

        def local(name: str) -> dict[str, Any]:
            return load_event(name, bucket=cloud.bucket)

        event = local("register_run")
        event["detail"]["object"]["version-id"] = version  # the version the local upload got
        invoke("register_run", event)
        for name in ("plan_ingest", "ingest_labels"):
            event = local(name)
            event["source"]["version"] = version
            invoke(name, event)
        invoke("make_batches", local("make_batches"))
        cloud.ground_truth.stop_after = 0  # the job ends at once (Stopped): no reviewing in this test
        invoke("start_labeling_job", local("start_labeling_job"))
        cloud.wait_for_background(timeout=30)
        invoke("labeling_job_state_change", local("labeling_job_state_change"))
        invoke("labeling_job_failed", local("labeling_job_failed"))
        pre = local("pre_labeling")
        batch = local("batch")
        put(pre["dataObject"]["source-ref"], batch)
        invoke("pre_labeling", pre)
        post = local("post_labeling")
        put(post["payload"]["s3Uri"], load_json("post_labeling_payload", bucket=cloud.bucket))
        invoke("post_labeling", post)
        invoke("analyze_results", local("analyze_results"))
        yield got


def result(outcomes: dict[str, Any], name: str) -> Any:
    value = outcomes[name]
    if isinstance(value, HandlerError):
        pytest.fail(f"events/{name}.json: {value}")
    return value


def test_register_run(outcomes: dict[str, Any]) -> None:
    got = result(outcomes, "register_run")
    assert got["duplicate"] is False
    assert got["run_id"] == keys.run_id_for(outcomes["bucket"], KEY, outcomes["version"])


def test_plan_ingest(outcomes: dict[str, Any]) -> None:
    assert result(outcomes, "plan_ingest") == load_event("ingest_labels")["ingest"]


def test_ingest_labels(outcomes: dict[str, Any]) -> None:
    assert result(outcomes, "ingest_labels") == {
        "chunk": 0,
        "rows": 513,
        "accepted": 513,
        "rejected": 0,
        "below_min_confidence": 0,
    }


def test_make_batches(outcomes: dict[str, Any]) -> None:
    got = result(outcomes, "make_batches")
    job = load_event("start_labeling_job", bucket=outcomes["bucket"])
    assert got["jobs"] == [{"run_id": EXAMPLE_RUN_ID, "part": 0, "tasks": job["tasks"], "manifest": job["manifest"]}]
    assert got["images"] == 513


def test_start_labeling_job(outcomes: dict[str, Any]) -> None:
    got = result(outcomes, "start_labeling_job")
    assert got["job_name"] == keys.job_name(EXAMPLE_RUN_ID, 0)
    assert got["job_arn"].endswith(f":labeling-job/{got['job_name']}")


@pytest.mark.parametrize("name", ["labeling_job_state_change", "labeling_job_failed"])
def test_on_labeling_job_event(outcomes: dict[str, Any], name: str) -> None:
    got = result(outcomes, name)
    # the job was started by start_labeling_job above; the sample's dummy token resumes no execution
    assert got == {"resumed": False, "job": keys.job_name(EXAMPLE_RUN_ID, 0), "status": "Stopped"}


def test_pre_labeling(outcomes: dict[str, Any]) -> None:
    task = result(outcomes, "pre_labeling")["taskInput"]
    assert (task["label"], task["image_count"]) == ("Beaver", 25)


def test_post_labeling(outcomes: dict[str, Any]) -> None:
    (entry,) = result(outcomes, "post_labeling")
    content = entry["consolidatedAnnotation"]["content"][keys.LABEL_ATTRIBUTE_NAME]
    verdicts = [image["verdict"] for image in content["images"].values()]
    assert (verdicts.count("confirmed"), verdicts.count("disconfirmed"), verdicts.count("split")) == (19, 2, 4)
    # these item ids were computed in the example bucket; the local ingest stored its own: not created
    assert len(content["unknown_images"]) == 25


def test_analyze_results(outcomes: dict[str, Any]) -> None:
    got = result(outcomes, "analyze_results")
    assert got["report_prefix"] == f"s3://{outcomes['bucket']}/{keys.report_prefix(EXAMPLE_RUN_ID)}"
    assert got["rows"]["total"] == 513
