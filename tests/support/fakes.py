"""In-memory implementations of ``bulkqa.ports``: the steps run on these in tests/unit, no moto.

Each fake keeps the behaviour of its adapter that the steps rely on, and nothing else:

    store = FakeStore("bkt")              # keys() sorted, read_range by byte offsets, versions, put_file, copy
    labels = FakeLabelsTable()            # put_items counts BatchWriteItem requests (25 items each);
                                          # set_verdicts is False for an unknown item, with a version a
                                          # stale one changes nothing (True); run_items in the
                                          # adapter's order (partition, then item id), projected
    runs = FakeRunsTable()                # register_run is False the second time (conditional put)
    backend = FakeReviewBackend()         # start is idempotent; finish(name, "Completed") ends a job
    callbacks = FakeCallbacks()           # what was sent; a token answers once (then False, as
                                          # Step Functions says TaskTimedOut / InvalidToken)

Every fake records its calls in ``calls`` (method name -> count). Values are stored as the adapters
store them after a round trip: floats stay floats, mappings are copied.
"""

from __future__ import annotations

import copy as copying
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bulkqa import keys, ports, steps
from bulkqa.errors import LabelingJobNotFound
from bulkqa.labeling import JobSpec, JobStatus
from bulkqa.model import (
    BatchesResult,
    ChunkJSON,
    ChunkSummary,
    IngestPlan,
    JobResult,
    LabelItem,
    RegisterRunResult,
    RunRecord,
    StoredLabel,
)
from bulkqa.settings import AnalysisSettings, BatchSettings, IngestSettings, LabelingSettings, StackSettings

BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit: one request per 25 items


class FakeStore:
    """The stack's bucket in a dict; ``versions`` holds older object versions by (key, version id)."""

    def __init__(self, bucket: str = "bkt", objects: Mapping[str, bytes] | None = None, block: int = 64 * 1024) -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = dict(objects or {})
        self.versions: dict[tuple[str, str], bytes] = {}
        self.content_types: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self._block = block

    def _data(self, key: str, version: str | None) -> bytes:
        if version:
            if (key, version) in self.versions:
                return self.versions[key, version]
            raise KeyError(f"NoSuchVersion: {key}?versionId={version}")
        if key not in self.objects:
            raise KeyError(f"NoSuchKey: {key}")
        return self.objects[key]

    # --- reads

    def size(self, key: str, version: str | None = None) -> int:
        self.calls["size"] += 1
        return len(self._data(key, version))

    def read_range(self, key: str, start: int, end: int, version: str | None = None) -> bytes:
        self.calls["read_range"] += 1
        return self._data(key, version)[start:end] if end > start else b""

    def stream(self, key: str, start: int = 0, version: str | None = None) -> Iterator[bytes]:
        self.calls["stream"] += 1
        data = self._data(key, version)
        for offset in range(start, len(data), self._block):
            yield data[offset : offset + self._block]

    def read_json(self, key: str) -> object:
        self.calls["read_json"] += 1
        return json.loads(self._data(key, None))

    def read_text(self, uri: str) -> str:
        """``s3://<this bucket>/<key>`` as text: the pre/post-labeling hooks' reader."""
        bucket, key = keys.parse_s3_uri(uri)
        if bucket != self.bucket:
            raise KeyError(f"NoSuchBucket: {bucket}")
        return self._data(key, None).decode("utf-8")

    def keys(self, prefix: str) -> list[str]:
        self.calls["keys"] += 1
        return sorted(k for k in self.objects if k.startswith(prefix))

    # --- writes

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.calls["put_bytes"] += 1
        self.objects[key] = bytes(data)
        self.content_types[key] = content_type

    def put_json(self, key: str, value: object) -> None:
        self.calls["put_json"] += 1
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self.objects[key] = text.encode("utf-8")
        self.content_types[key] = "application/json"

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None:
        self.calls["put_file"] += 1
        self.objects[key] = Path(path).read_bytes()
        self.content_types[key] = content_type

    def put_many(self, objects: list[tuple[str, bytes, str]], threads: int = 16) -> None:
        self.calls["put_many"] += 1
        for key, data, content_type in objects:
            self.put_bytes(key, data, content_type)

    def copy(self, source_key: str, target_key: str) -> None:
        self.calls["copy"] += 1
        self.objects[target_key] = self._data(source_key, None)
        self.content_types[target_key] = self.content_types.get(source_key, "application/octet-stream")

    # --- for tests

    def text(self, key: str) -> str:
        return self.objects[key].decode("utf-8")

    def json(self, key: str) -> object:
        return json.loads(self.objects[key])


class FakeLabelsTable:
    """Items by (run_partition, item_id), as the labels table keys them."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, object]] = {}
        self.calls: Counter[str] = Counter()
        self.write_requests = 0

    def put_items(self, items: Iterable[LabelItem]) -> int:
        self.calls["put_items"] += 1
        count = 0
        for item in items:
            _check_numbers(item)
            self.items[item["run_partition"], item["item_id"]] = dict(item)
            count += 1
        requests = math.ceil(count / BATCH_WRITE_ITEMS)
        self.write_requests += requests
        return requests

    def delete_items(self, run_id: str, item_ids: Iterable[str]) -> int:
        self.calls["delete_items"] += 1
        count = 0
        for item in item_ids:
            self.items.pop((keys.partition(run_id, item), item), None)
            count += 1
        requests = math.ceil(count / BATCH_WRITE_ITEMS)
        self.write_requests += requests
        return requests

    def set_verdicts(
        self,
        run_id: str,
        item: str,
        confirms: int,
        rejects: int,
        reviewers: Mapping[str, str],
        job: str,
        batch: str,
        version: int | None = None,
    ) -> bool:
        self.calls["set_verdicts"] += 1
        stored = self.items.get((keys.partition(run_id, item), item))
        if stored is None:  # ConditionExpression attribute_exists(item_id): nothing is created
            return False
        if version is not None:
            held = stored.get("review_version")
            if isinstance(held, int) and held >= version:  # a stale tally: nothing changes, not an error
                return True
            stored["review_version"] = version
        stored.update(
            WorkerConfirmCount=confirms,
            WorkerDisconfirmCount=rejects,
            WorkerVerdicts=dict(reviewers),
            labeling_job=job,
            batch_id=batch,
        )
        return True

    def run_items(self, run_id: str, attributes: tuple[str, ...] = ()) -> Iterator[StoredLabel]:
        self.calls["run_items"] += 1
        for partition in keys.partitions(run_id):
            for (part, _), item in sorted(self.items.items()):
                if part == partition:
                    chosen = {k: v for k, v in item.items() if not attributes or k in attributes}
                    yield cast(StoredLabel, copying.deepcopy(chosen))

    def item(self, run_id: str, item_id: str) -> dict[str, object]:
        return self.items[keys.partition(run_id, item_id), item_id]

    def of_run(self, run_id: str) -> list[dict[str, object]]:
        return [item for (part, _), item in sorted(self.items.items()) if part.startswith(f"{run_id}#")]


class FakeRunsTable:
    """Items by pk (``run#<id>``, ``job#<name>``)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, object]] = {}
        self.calls: Counter[str] = Counter()

    def register_run(self, run_id: str, record: RunRecord) -> bool:
        self.calls["register_run"] += 1
        pk = f"run#{run_id}"
        if pk in self.records:  # ConditionExpression attribute_not_exists(pk)
            return False
        self.records[pk] = {"pk": pk, **copying.deepcopy(dict(record))}
        return True

    def get(self, pk: str) -> RunRecord | None:
        self.calls["get"] += 1
        record = self.records.get(pk)
        return cast(RunRecord, copying.deepcopy(record)) if record is not None else None

    def update(self, pk: str, values: RunRecord) -> None:
        self.calls["update"] += 1
        self.records.setdefault(pk, {"pk": pk}).update(copying.deepcopy(dict(values)))


class FakeReviewBackend:
    """Labeling jobs in a dict. ``on_start`` runs when a job is created (a test can look at the world then)."""

    def __init__(self, on_start: Callable[[JobSpec], None] | None = None, status_on_start: str = "InProgress") -> None:
        self.jobs: dict[str, JobStatus] = {}
        self.started: list[JobSpec] = []
        self.delivered_jobs: list[str] = []
        self.calls: Counter[str] = Counter()
        self._on_start = on_start
        self._status_on_start = status_on_start

    def arn_for(self, name: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:000000000000:labeling-job/{name}"

    def start(self, spec: JobSpec) -> str:
        self.calls["start"] += 1
        if spec.name not in self.jobs:  # a second start of the same job is not a second job
            if self._on_start is not None:
                self._on_start(spec)
            self.started.append(spec)
            self.jobs[spec.name] = JobStatus(spec.name, self.arn_for(spec.name), self._status_on_start)
        return self.arn_for(spec.name)

    def status(self, name: str) -> JobStatus:
        self.calls["status"] += 1
        if name not in self.jobs:
            raise LabelingJobNotFound(f"labeling job {name} does not exist")
        return self.jobs[name]

    def delivered(self, name: str) -> None:
        self.calls["delivered"] += 1
        self.delivered_jobs.append(name)

    def finish(self, name: str, status: str, failure_reason: str = "", counters: dict[str, int] | None = None) -> None:
        output = f"s3://bkt/output/{name}/manifests/output/output.manifest"
        self.jobs[name] = JobStatus(name, self.arn_for(name), status, failure_reason, output, counters)


class FakeCallbacks:
    """Task tokens: each answers once; later calls return False (the token is no longer waiting)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []  # (token, "success" | error name, output | cause)
        self.calls: Counter[str] = Counter()

    def _answered(self, token: str) -> bool:
        return any(sent[0] == token for sent in self.sent)

    def succeed(self, token: str, output: JobResult) -> bool:
        self.calls["succeed"] += 1
        if self._answered(token):
            return False
        self.sent.append((token, "success", json.loads(json.dumps(output))))
        return True

    def fail(self, token: str, error: str, cause: str) -> bool:
        self.calls["fail"] += 1
        if self._answered(token):
            return False
        self.sent.append((token, error, cause))
        return True


def _check_numbers(item: Mapping[str, object]) -> None:
    """DynamoDB refuses NaN and infinity; the adapter would raise, so the fake does too."""
    for value in item.values():
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"DynamoDB cannot store {value!r}")


class FakeStack:
    """The fakes of one stack, its settings, and the steps' events as the state machine builds them."""

    def __init__(self, bucket: str = "bkt", **batch: int) -> None:
        self.stack = StackSettings(bucket, "labels", "runs")
        self.store = FakeStore(bucket)
        self.labels = FakeLabelsTable()
        self.runs = FakeRunsTable()
        self.backend = FakeReviewBackend()
        self.callbacks = FakeCallbacks()
        self.ingest_settings = IngestSettings(self.stack, 0.0, "", 4 * 1024 * 1024, "auto")
        self.batch_settings = BatchSettings(
            self.stack, batch.get("batch_size", 25), batch.get("max_objects_per_job", 100_000), 3600
        )
        self.labeling_settings = LabelingSettings(
            self.stack, "arn:workteam", "arn:role", "arn:pre", "arn:post", 1, 600, 864_000, 1000, "Confirm the labels"
        )
        self.analysis_settings = AnalysisSettings(self.stack, 0.0, 0.1)

    def upload_event(self, data: bytes, key: str = "incoming/labels.csv", version: str = "v1") -> dict[str, object]:
        """Put the file and return EventBridge's "Object Created" event for it."""
        self.store.objects[key] = data
        self.store.versions[key, version] = data
        return {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {
                "bucket": {"name": self.store.bucket},
                "object": {"key": key, "size": len(data), "version-id": version, "sequencer": "00A1"},
            },
        }

    def register(self, data: bytes, **kwargs: str) -> RegisterRunResult:
        return steps.register_run(self.upload_event(data, **kwargs), self.stack, self.runs)

    def plan(self, data: bytes, **kwargs: str) -> tuple[RegisterRunResult, IngestPlan]:
        run = self.register(data, **kwargs)
        return run, steps.plan_ingest(run, self.ingest_settings, self.store)

    def ingest(self, data: bytes, **kwargs: str) -> tuple[RegisterRunResult, IngestPlan, list[ChunkSummary]]:
        """Register, plan and ingest every chunk (the Distributed Map's children, one after another)."""
        run, plan = self.plan(data, **kwargs)
        chunks = cast("list[ChunkJSON]", self.store.json(plan["plan_key"]))
        summaries = [
            steps.ingest_chunk({**run, "ingest": plan, "chunk": chunk}, self.ingest_settings, self.store, self.labels)
            for chunk in chunks
        ]
        return run, plan, summaries

    def batches(self, data: bytes, **kwargs: str) -> tuple[str, BatchesResult]:
        run, plan, _ = self.ingest(data, **kwargs)
        event = {"run_id": run["run_id"], "ingest": {"chunks": plan["chunks"]}}
        return run["run_id"], steps.make_batches(event, self.batch_settings, self.store, self.labels, self.runs)


if TYPE_CHECKING:  # mypy checks each fake against its port
    _store: ports.ObjectStore = FakeStore()
    _labels: ports.LabelsTable = FakeLabelsTable()
    _runs: ports.RunsTable = FakeRunsTable()
    _backend: ports.ReviewBackend = FakeReviewBackend()
    _callbacks: ports.TaskCallbacks = FakeCallbacks()
