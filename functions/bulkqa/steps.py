"""The workflow's steps as typed functions over adapters. Handlers only parse and wire.

Data flows one way: CSV -> chunk results -> batches + manifests -> labeling jobs -> verdicts ->
reports. Only counts and S3 pointers travel between states (Step Functions' 256 KiB limit).
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import batching, consolidation, csvfile, ingest, keys, log, prelabel
from .adapters.dynamodb import LabelsTable, RunsTable
from .adapters.s3 import ObjectStore
from .adapters.stepfunctions import TaskCallbacks
from .errors import (
    InvalidEvent,
    InvalidLabelFile,
    LabelingJobFailed,
    LabelingJobStopped,
    MalformedBatch,
    NoRowsAccepted,
)
from .escaping import csv_safe
from .labeling import JobSpec, JobStatus, ReviewBackend
from .settings import BatchSettings, IngestSettings, LabelingSettings, StackSettings

HEAD_BYTES = 256 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _get(mapping: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(mapping, Mapping) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def _require_str(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"the step's input has no {name!r}; was the state machine changed?")
    return value


# --- 1. register the run ----------------------------------------------------------------------------


def register_run(event: Mapping[str, Any], stack: StackSettings, runs: RunsTable) -> dict[str, Any]:
    """S3 "Object Created" event -> run id; a second event for the same object version is a duplicate."""
    bucket = _get(event, "detail", "bucket", "name")
    obj = _get(event, "detail", "object")
    if event.get("source") != "aws.s3" or not isinstance(bucket, str) or not isinstance(obj, Mapping):
        raise InvalidEvent("expected an S3 'Object Created' event from EventBridge")
    key = obj.get("key")
    if not isinstance(key, str) or not key.startswith(keys.UPLOAD_PREFIX) or not key.lower().endswith(".csv"):
        raise InvalidEvent(f"object {key!r} is not a .csv file under {keys.UPLOAD_PREFIX}")
    if bucket != stack.bucket:
        raise InvalidEvent(f"object is in bucket {bucket!r}, not the stack's bucket")
    version = obj.get("version-id") or ""
    # without versioning, the sequencer (or the etag) tells one upload of a key from the next
    identity = version or obj.get("sequencer") or obj.get("etag") or obj.get("eTag") or ""
    run_id = keys.run_id_for(bucket, key, str(identity))
    source = {"bucket": bucket, "key": key, "version": str(version), "size": int(obj.get("size") or 0)}
    created = runs.register_run(run_id, {"status": "registered", "source": source, "created": _now()})
    if not created:
        log.info("duplicate upload event: this object version already has a run", run_id=run_id, key=key)
    else:
        log.info("run registered", run_id=run_id, key=key)
    return {"run_id": run_id, "duplicate": not created, "source": source}


# --- 2. check the file and plan the chunks -------------------------------------------------------


def plan_ingest(event: Mapping[str, Any], settings: IngestSettings, store: ObjectStore) -> dict[str, Any]:
    """Check the file (a readable CSV with the needed columns) and write the chunk list for the Map."""
    run_id = _require_str(event, "run_id")
    source = event.get("source") or {}
    key, version = str(source.get("key", "")), str(source.get("version", "")) or None
    try:
        size = int(store.head(key, version)["ContentLength"])
    except Exception as exc:  # the object is gone or unreadable: a file problem, not a bug
        raise InvalidLabelFile(f"cannot read s3://{store.bucket}/{key}: {exc}; upload the file again") from exc
    head = store.read_range(key, 0, min(size, HEAD_BYTES), version)
    header = csvfile.read_header(head)
    scale = csvfile.decide_scale(csvfile.sample_confidences(head, header), settings.confidence_scale)
    blocks = store.stream(key, header.data_start, version) if header.data_start < size else iter(())
    stats: dict[str, int] = {}
    chunks, records = csvfile.plan_chunks(blocks, header.data_start, settings.chunk_bytes, stats)
    if records - stats.get("blank", 0) <= 0 or not chunks:
        raise InvalidLabelFile("the file has a header but no data rows; add one row per labelled image")
    store.put_json(keys.plan_key(run_id), [c.to_json() for c in chunks])
    log.info("ingest planned", run_id=run_id, chunks=len(chunks), records=records, bytes=size, scale=scale)
    return {
        "plan_key": keys.plan_key(run_id),
        "chunks": len(chunks),
        "records": records,
        "scale": scale,
        "header": header.to_json(),
    }


# --- 3. validate and store one chunk ---------------------------------------------------------------


def ingest_chunk(
    event: Mapping[str, Any], settings: IngestSettings, store: ObjectStore, labels: LabelsTable
) -> dict[str, Any]:
    """Validate one chunk's rows, write accepted items (BatchWriteItem), save the chunk's result."""
    run_id = _require_str(event, "run_id")
    source, plan, chunk = event.get("source") or {}, event.get("ingest") or {}, event.get("chunk") or {}
    try:
        header = csvfile.Header.from_json(plan["header"])
        index, start, end, first_line = (int(chunk[k]) for k in ("chunk", "start", "end", "first_line"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"ingest_labels needs run_id, source, ingest.header and chunk: {exc}") from exc
    rules = ingest.Rules(settings.stack.bucket, settings.image_bucket, settings.min_confidence, str(plan.get("scale")))
    data = store.read_range(str(source.get("key")), start, end, str(source.get("version") or "") or None)
    result = ingest.validate_chunk(data, index, first_line, header, rules)
    requests = labels.put_items(ingest.label_item(run_id, row) for row in result.accepted)
    store.put_json(keys.chunk_result_key(run_id, index), result.to_json())
    counts = result.to_json()["counts"]
    log.info("chunk ingested", run_id=run_id, chunk=index, rows=result.rows, write_requests=requests, **counts)
    return {"chunk": index, "rows": result.rows, **counts}


# --- 4. make the batches ------------------------------------------------------------------------------


_REJECTED_HEADER = ["line", "reason", "image", "label", "confidence"]
#: Chunk results read ahead of the one being processed (each ~60,000 rows): bounds make_batches' memory.
READ_AHEAD = 4
#: Batch files PUT per round as make_batches cuts them, and how many at once (10M rows: 400,000 files,
#: ~25 ms each: 32 at a time take ~5 min, within S3's 3,500 PUT/s per prefix).
PUT_ROUND = 512
PUT_THREADS = 32


def _write_rejected(out: Any, rows: Iterator[list[Any]] | list[list[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_REJECTED_HEADER)
    for row in rows:
        writer.writerow([row[0], *(csv_safe(str(v)) for v in row[1:])])


def _read_in_order(read: Callable[[str], Any], names: list[str]) -> Iterator[Any]:
    """``read(name)`` for each name, in order, at most ``READ_AHEAD`` requests in flight (bounded memory)."""
    ahead = READ_AHEAD
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        pending = [pool.submit(read, name) for name in names[:ahead]]
        for n in range(len(names)):
            result = pending.pop(0).result()
            if n + ahead < len(names):
                pending.append(pool.submit(read, names[n + ahead]))
            yield result


def _below_min_row(line: int, image: str, label: str, conf: float) -> list[Any]:
    return [
        line,
        f"confidence {conf:g} is below the minimum confidence (counted, not reviewed)",
        image,
        label,
        f"{conf:g}",
    ]


def make_batches(
    event: Mapping[str, Any], settings: BatchSettings, store: ObjectStore, labels: LabelsTable, runs: RunsTable
) -> dict[str, Any]:
    """Gather the chunk results, write rejected.csv, the batch files and one manifest per job.

    Streams: chunk results are read in order with bounded read-ahead, accepted rows spill to local
    files (:class:`batching.SpillPlanner`), rows that were not accepted to a local file, and batch
    files are written as they are cut. What grows with the run is small: a manifest line per batch
    (~300 bytes) and the cross-chunk duplicates found (~0.9 KB each). 10M rows: see the README.
    """
    run_id = _require_str(event, "run_id")
    expected = int(_get(event, "ingest", "chunks") or 0)
    result_keys = store.keys(keys.chunk_results_prefix(run_id))  # zero-padded chunk numbers: file order
    if len(result_keys) != expected:
        raise InvalidEvent(f"expected {expected} chunk results for run {run_id}, found {len(result_keys)}")
    rows = blank = below_min = rejected_in_chunks = 0
    with tempfile.TemporaryDirectory(prefix="bulkqa-batches-") as tmp:
        work = Path(tmp)
        planner = batching.SpillPlanner(work)
        not_accepted = work / "not-accepted.jsonl"  # rejected and below-minimum rows, in line order
        with not_accepted.open("w", encoding="utf-8") as pending, contextlib.closing(planner):
            for result in _read_in_order(store.read_json, result_keys):
                for row in result["accepted"]:
                    planner.add(row)
                rows += int(result["rows"])
                blank += int(result["blank"])
                below_min += int(result["counts"]["below_min_confidence"])
                rejected_in_chunks += len(result["rejected"])
                # interfaces.md: rejected.csv lists every input row that was not accepted, with line and reason
                chunk_rows = result["rejected"] + [_below_min_row(*row) for row in result["below_min"]]
                for row in sorted(chunk_rows, key=lambda r: int(r[0])):
                    pending.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest: list[tuple[int, str]] = []
        puts: list[tuple[str, bytes, str]] = []

        def emit(batch: batching.Batch) -> None:
            document = json.dumps(batch.document(run_id), ensure_ascii=False).encode("utf-8")
            puts.append((batch.key(run_id), document, "application/json"))
            manifest.append((batch.seq, batch.manifest_line(run_id, store.bucket)))
            if len(puts) >= PUT_ROUND:
                store.put_many(puts, threads=PUT_THREADS)
                puts.clear()

        planned = planner.plan(settings.batch_size, emit)
        store.put_many(puts, threads=PUT_THREADS)
        if planned.kept_over_duplicates:  # a later duplicate in another chunk may have overwritten these items
            labels.put_items(ingest.label_item(run_id, row) for row in planned.kept_over_duplicates)
        rejected_file = work / "rejected.csv"
        with not_accepted.open(encoding="utf-8") as pending, rejected_file.open("w", encoding="utf-8") as out:
            chunk_rows = (json.loads(text) for text in pending)
            _write_rejected(out, heapq.merge(chunk_rows, planned.duplicates, key=lambda r: int(r[0])))
        store.put_file(keys.rejected_key(run_id), rejected_file, "text/csv; charset=utf-8")
    counts = {
        "total": rows,
        "accepted": planned.images,
        "rejected": rejected_in_chunks + len(planned.duplicates),
        "below_min_confidence": below_min,
        "blank_lines": blank,
    }
    summary: dict[str, Any] = {"run_id": run_id, "rows": counts, "rejected_key": keys.rejected_key(run_id)}
    if not planned.images:
        store.put_json(keys.ingest_summary_key(run_id), summary)
        runs.update(f"run#{run_id}", {"status": "no rows accepted", "rows": counts})
        raise NoRowsAccepted(
            f"no row of the file was accepted ({counts['rejected']} rejected, {below_min} below the minimum "
            f"confidence); see s3://{store.bucket}/{keys.rejected_key(run_id)} for the reasons, "
            "fix the file and upload it again"
        )
    manifest.sort()
    jobs = []
    for part, lines in enumerate(batching.split_jobs(manifest, settings.max_objects_per_job)):
        store.put_bytes(
            keys.manifest_key(run_id, part),
            "".join(f"{line}\n" for _, line in lines).encode("utf-8"),
            "application/jsonlines",
        )
        jobs.append(
            {
                "run_id": run_id,
                "part": part,
                "tasks": len(lines),
                "manifest": f"s3://{store.bucket}/{keys.manifest_key(run_id, part)}",
            }
        )
    summary.update({"tasks": planned.tasks, "jobs": len(jobs), "labels": planned.labels})
    store.put_json(keys.ingest_summary_key(run_id), summary)
    runs.update(f"run#{run_id}", {"status": "batched", "rows": counts, "tasks": planned.tasks, "jobs": len(jobs)})
    log.info("batches written", run_id=run_id, tasks=planned.tasks, jobs=len(jobs), **counts)
    return {
        "rows": counts,
        "tasks": planned.tasks,
        "images": planned.images,
        "jobs": jobs,
        "check_seconds": settings.completion_check_seconds,
    }


# --- 5. start the labeling job and wait ---------------------------------------------------------------


def worker_template() -> bytes:
    return resources.files("bulkqa").joinpath("templates/worker_task.liquid.html").read_bytes()


def start_labeling_job(
    event: Mapping[str, Any],
    settings: LabelingSettings,
    store: ObjectStore,
    runs: RunsTable,
    backend: ReviewBackend,
    callbacks: TaskCallbacks,
) -> dict[str, Any]:
    """Store the task token, start the job unless it exists, and resume at once if it already ended.

    Called again after every check interval (the wait's timeout), so a lost completion event never
    leaves a run waiting forever: the new call sees the finished job and resumes the workflow itself.
    """
    run_id, token = _require_str(event, "run_id"), _require_str(event, "token")
    part, tasks = int(event.get("part", 0)), int(event.get("tasks", 0))
    spec = JobSpec(
        run_id,
        part,
        _require_str(event, "manifest"),
        tasks,
        f"s3://{store.bucket}/{keys.worker_template_key(run_id)}",
        f"s3://{store.bucket}/{keys.labeling_output_prefix(run_id)}",
    )
    # the token is stored before the job exists, so even an instant completion event finds it
    runs.update(f"job#{spec.name}", {"token": token, "run_id": run_id, "part": part, "updated": _now()})
    store.put_bytes(keys.worker_template_key(run_id), worker_template(), "text/html; charset=utf-8")
    arn = backend.start(spec)
    status = backend.status(spec.name)
    log.info("labeling job started or resumed", run_id=run_id, job=spec.name, status=status.status, tasks=tasks)
    if status.terminal:
        deliver(status, token, callbacks)
    return {"job_name": spec.name, "job_arn": arn}


def deliver(status: JobStatus, token: str, callbacks: TaskCallbacks) -> bool:
    """Resume the waiting workflow with the job's outcome."""
    if status.status == "Completed":
        return callbacks.succeed(token, status.result())
    if status.status == "Failed":
        return callbacks.fail(
            token,
            LabelingJobFailed.__name__,
            f"labeling job {status.name} failed: {status.failure_reason or 'no reason given'}",
        )
    return callbacks.fail(token, LabelingJobStopped.__name__, json.dumps(status.result()))


# --- 6. the labeling job's state-change event ------------------------------------------------------------


def on_labeling_job_event(
    event: Mapping[str, Any], runs: RunsTable, backend: ReviewBackend, callbacks: TaskCallbacks
) -> dict[str, Any]:
    resources_ = event.get("resources")
    if not isinstance(resources_, list) or not resources_ or not isinstance(resources_[0], str):
        log.warning("labeling job event without a job ARN; ignored")
        return {"resumed": False, "reason": "no job ARN"}
    try:
        name = keys.job_name_from_arn(resources_[0])
    except ValueError:
        log.warning("event resource is not a labeling job; ignored", resource=resources_[0][:200])
        return {"resumed": False, "reason": "not a labeling job"}
    job = runs.get(f"job#{name}")
    if not job or not job.get("token"):
        log.info("labeling job not started by this stack; ignored", job=name)
        return {"resumed": False, "reason": "unknown job"}
    status = backend.status(name)
    if not status.terminal:
        log.info("job not finished yet; waiting", job=name, status=status.status)
        return {"resumed": False, "reason": f"status {status.status}"}
    resumed = deliver(status, str(job["token"]), callbacks)
    return {"resumed": resumed, "job": name, "status": status.status}


# --- 7. pre-labeling and consolidation (called by Ground Truth) ------------------------------------------


def pre_labeling(event: Mapping[str, Any], read_json: Callable[[str], Any]) -> dict[str, Any]:
    data_object = event.get("dataObject")
    uri = data_object.get("source-ref") if isinstance(data_object, Mapping) else None
    if not isinstance(uri, str):
        raise MalformedBatch("the data object has no source-ref to a batch file; was the manifest edited?")
    try:
        ref = keys.parse_batch_uri(uri)
    except Exception as exc:
        raise MalformedBatch(str(exc)) from exc
    try:
        batch = read_json(uri)
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
        raise MalformedBatch(f"batch file {uri} is not JSON ({exc}); make_batches writes JSON objects") from exc
    except Exception as exc:  # the object is missing or unreadable
        raise MalformedBatch(f"cannot read batch file {uri}: {exc}") from exc
    task_input = prelabel.task_input(batch, ref)
    return {"taskInput": task_input, "isHumanAnnotationRequired": True}


def post_labeling(
    event: Mapping[str, Any], labels: LabelsTable, read_text: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Consolidate every reviewer's answer; one write per image; exactly one entry per data object."""
    attribute = event.get("labelAttributeName") or keys.LABEL_ATTRIBUTE_NAME
    job_arn = str(event.get("labelingJobArn") or "")
    payload_uri = _get(event, "payload", "s3Uri")
    if not isinstance(payload_uri, str):
        raise InvalidEvent("the consolidation request has no payload.s3Uri")
    results = consolidation.consolidate(json.loads(read_text(payload_uri)), read_text)
    job = job_arn.rsplit("/", 1)[-1]

    def write(result: consolidation.ObjectResult) -> dict[str, Any]:
        unknown: list[str] = []
        if result.batch is not None:
            for tally in result.images.values():
                if not labels.set_verdicts(
                    result.batch.run_id,
                    tally.item_id,
                    tally.confirms,
                    tally.rejects,
                    tally.reviewers,
                    job,
                    result.batch.batch_id,
                ):
                    unknown.append(tally.item_id)
        for excluded in result.excluded:
            log.warning(
                "reviewer answer excluded",
                job=job,
                dataset_object=result.dataset_object_id,
                worker=excluded["workerId"],
                reason=excluded["reason"],
            )
        if unknown:
            log.warning("images not in the labels table; not created", job=job, items=unknown)
        if result.error:
            log.warning(
                "data object not consolidated", job=job, dataset_object=result.dataset_object_id, reason=result.error
            )
        return result.response_entry(str(attribute), unknown)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(write, results))
