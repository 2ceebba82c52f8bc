"""Steps 1-3: register the run, check the file and plan its chunks, validate and store one chunk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import csvfile, ingest, keys, log
from ..errors import InvalidEvent, InvalidLabelFile
from ..settings import IngestSettings, StackSettings
from .common import get_path, now, require_str

if TYPE_CHECKING:
    from ..model import ChunkSummary, IngestChunkInput, IngestPlan, PlanIngestInput, RegisterRunResult, SourceJSON
    from ..ports import LabelsTable, ObjectStore, RawEvent, RunsTable

HEAD_BYTES = 256 * 1024


def _source(value: object) -> SourceJSON:
    """The state's ``source`` (register_run's output), as later steps read it."""
    source = value if isinstance(value, Mapping) else {}
    return {
        "bucket": str(source.get("bucket") or ""),
        "key": str(source.get("key") or ""),
        "version": str(source.get("version") or ""),
        "size": int(source.get("size") or 0),
    }


# --- 1. register the run ----------------------------------------------------------------------------


def register_run(event: RawEvent, stack: StackSettings, runs: RunsTable) -> RegisterRunResult:
    """S3 "Object Created" event -> run id; a second event for the same object version is a duplicate."""
    bucket = get_path(event, "detail", "bucket", "name")
    obj = get_path(event, "detail", "object")
    if event.get("source") != "aws.s3" or not isinstance(bucket, str) or not isinstance(obj, Mapping):
        raise InvalidEvent("expected an S3 'Object Created' event from EventBridge")
    key = obj.get("key")
    if not isinstance(key, str) or not key.startswith(keys.UPLOAD_PREFIX) or not key.lower().endswith(".csv"):
        raise InvalidEvent(f"object {key!r} is not a .csv file under {keys.UPLOAD_PREFIX}")
    if bucket != stack.bucket:
        raise InvalidEvent(f"object is in bucket {bucket!r}, not the stack's bucket")
    version = obj.get("version-id") or ""
    run_id = upload_run_id(bucket, key, obj)
    source: SourceJSON = {"bucket": bucket, "key": key, "version": str(version), "size": int(obj.get("size") or 0)}
    log.append_keys(run_id=run_id)
    created = runs.register_run(run_id, {"status": "registered", "source": source, "created": now()})
    if not created:
        log.info("duplicate upload event: this object version already has a run", key=key)
    else:
        log.info("run registered", key=key)
    return {"run_id": run_id, "duplicate": not created, "source": source}


def upload_run_id(bucket: str, key: str, obj: Mapping[str, object]) -> str:
    """The run id of the upload an S3 event's ``detail.object`` describes (also notify_run's, from the input)."""
    # without versioning, the sequencer (or the etag) tells one upload of a key from the next
    identity = obj.get("version-id") or obj.get("sequencer") or obj.get("etag") or obj.get("eTag") or ""
    return keys.run_id_for(bucket, key, str(identity))


# --- 2. check the file and plan the chunks -------------------------------------------------------


def parse_plan_ingest(event: RawEvent) -> PlanIngestInput:
    return {"run_id": require_str(event, "run_id"), "source": _source(event.get("source"))}


def plan_ingest(event: RawEvent, settings: IngestSettings, store: ObjectStore) -> IngestPlan:
    """Check the file (a readable CSV with the needed columns) and write the chunk list for the Map."""
    request = parse_plan_ingest(event)
    run_id, key, version = request["run_id"], request["source"]["key"], request["source"]["version"] or None
    try:
        key, size = keys.resolve_upload(key, lambda name: store.size(name, version))  # as given, else URL-decoded
    except Exception as exc:  # the object is gone or unreadable: a file problem, not a bug
        raise InvalidLabelFile(f"cannot read s3://{store.bucket}/{key}: {exc}; upload the file again") from exc
    head = store.read_range(key, 0, min(size, HEAD_BYTES), version)
    header = csvfile.read_header(head)

    def read_more(offset: int) -> bytes:  # scale detection reads the first records wherever they lie
        return store.read_range(key, offset, min(size, offset + HEAD_BYTES), version) if offset < size else b""

    configured = settings.confidence_scale
    samples = (
        [] if configured in ("percent", "fraction") else csvfile.sample_confidences(head, header, read_more=read_more)
    )
    scale = csvfile.decide_scale(samples, configured)
    blocks = store.stream(key, header.data_start, version) if header.data_start < size else iter(())
    stats: dict[str, int] = {}
    chunks, records = csvfile.plan_chunks(blocks, header.data_start, settings.chunk_bytes, stats)
    if records - stats.get("blank", 0) <= 0 or not chunks:
        raise InvalidLabelFile("the file has a header but no data rows; add one row per labelled image")
    store.put_json(keys.plan_key(run_id), [c.to_json() for c in chunks])
    log.info("ingest planned", chunks=len(chunks), records=records, bytes=size, scale=scale)
    return {
        "plan_key": keys.plan_key(run_id),
        "chunks": len(chunks),
        "records": records,
        "scale": scale,
        "header": header.to_json(),
    }


# --- 3. validate and store one chunk ---------------------------------------------------------------


def parse_ingest_chunk(event: RawEvent) -> IngestChunkInput:
    run_id = require_str(event, "run_id")
    plan, chunk = event.get("ingest") or {}, event.get("chunk") or {}
    try:
        return {
            "run_id": run_id,
            "source": _source(event.get("source")),
            "ingest": {
                "plan_key": str(plan.get("plan_key") or ""),
                "chunks": int(plan.get("chunks") or 0),
                "records": int(plan.get("records") or 0),
                "scale": str(plan.get("scale")),
                "header": csvfile.Header.from_json(plan["header"]).to_json(),
            },
            "chunk": {
                "chunk": int(chunk["chunk"]),
                "start": int(chunk["start"]),
                "end": int(chunk["end"]),
                "first_line": int(chunk["first_line"]),
            },
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidEvent(f"ingest_labels needs run_id, source, ingest.header and chunk: {exc}") from exc


def ingest_chunk(event: RawEvent, settings: IngestSettings, store: ObjectStore, labels: LabelsTable) -> ChunkSummary:
    """Validate one chunk's rows, write accepted items (BatchWriteItem), save the chunk's result."""
    request = parse_ingest_chunk(event)
    run_id, source, plan, chunk = request["run_id"], request["source"], request["ingest"], request["chunk"]
    header = csvfile.Header.from_json(plan["header"])
    index = chunk["chunk"]
    rules = ingest.Rules(settings.stack.bucket, settings.image_bucket, settings.min_confidence, plan["scale"])
    _, data = keys.resolve_upload(  # the key as the event gave it, else URL-decoded (keys.resolve_upload)
        source["key"], lambda name: store.read_range(name, chunk["start"], chunk["end"], source["version"] or None)
    )
    result = ingest.validate_chunk(data, index, chunk["first_line"], header, rules)
    requests = labels.put_items(ingest.label_item(run_id, row) for row in result.accepted)
    saved = result.to_json()
    store.put_json(keys.chunk_result_key(run_id, index), saved)
    counts = saved["counts"]
    log.info("chunk ingested", chunk=index, rows=result.rows, write_requests=requests, **counts)
    return {"chunk": index, "rows": result.rows, **counts}
