"""A small self-hosted review job on moto, for the review queue's tests (tests/*/test_review_*.py).

    with mock_aws():
        world = ReviewWorld(clock, screens=3, images=2, workers=2)   # tables, bucket, batches, labels, token
        world.start()                                                # SelfHostedJobs.start(world.spec)
        lease = world.service.next_task(world.job, "alice")
        world.service.answer(lease.task_id, "alice", lease.lease_id, world.answer(lease, reject=1))

``clock`` is a :class:`Clock` patched in as ``bulkqa.review.clock.now``; ``world.callbacks`` is the fake
TaskCallbacks (``calls["succeed"]`` counts every attempt to resume, ``sent`` what reached the workflow).
The DynamoDB client is wrapped in :class:`LockedClient`, so threads may share it: moto applies a
transaction by copying the whole table and puts that copy back when the transaction is cancelled, which
would undo other threads' writes made meanwhile (DynamoDB itself needs no such lock).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3

from bulkqa import keys
from bulkqa.adapters.dynamodb import LabelsTable, RunsTable, from_item
from bulkqa.adapters.review_table import ReviewTable
from bulkqa.adapters.s3 import ObjectStore
from bulkqa.adapters.selfhosted import SelfHostedJobs
from bulkqa.labeling import JobSpec
from bulkqa.review.service import Lease, ReviewService
from bulkqa.settings import SELF_HOSTED, LabelingSettings, ReviewSettings, StackSettings
from tests.support.batches import Batch, build_batch, image_names
from tests.support.fakes import FakeCallbacks

REGION = "us-east-1"
ACCOUNT = "123456789012"
TOKEN = "token-of-the-waiting-job"


class Clock:
    """``bulkqa.review.clock.now`` for tests: starts at a fixed instant, moves only when told."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class LockedClient:
    """A boto3 client whose calls (and paginated pages) run one at a time."""

    _lock = threading.RLock()

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)
        lock = self._lock

        class Locked:
            def paginate(self, **kwargs: Any) -> Iterator[Any]:
                pages = iter(paginator.paginate(**kwargs))
                while True:
                    with lock:
                        page = next(pages, None)
                    if page is None:
                        return
                    yield page

        return Locked()


def create_table_from_template(ddb: Any, logical_id: str, name: str) -> None:
    """The table ``logical_id`` of template.yaml (its keys, attributes and indexes), named ``name``: the
    tests' tables are the stack's own, never a second description of them."""
    from bulkqa_local import cfn
    from bulkqa_local.cloud import TEMPLATE

    props = cfn.load(TEMPLATE)["Resources"][logical_id]["Properties"]
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        **{k: props[k] for k in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes") if k in props},
    )


class ReviewWorld:
    """One stack's tables and bucket on moto, one run of ``screens`` batches, one review job over them."""

    def __init__(
        self,
        clock: Clock,
        screens: int = 3,
        images: int = 2,
        workers: int = 2,
        lease_seconds: int = 600,
        availability: int = 3600,
        run_id: str = "review-0123456789",
    ) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.clock = clock
        self.bucket = f"bkt-{suffix}"
        raw_ddb = boto3.client("dynamodb", region_name=REGION)
        self.ddb = LockedClient(raw_ddb)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=self.bucket)
        names = {"labels": f"labels-{suffix}", "runs": f"runs-{suffix}", "review": f"review-{suffix}"}
        for logical, key in (("LabelsTable", "labels"), ("RunsTable", "runs"), ("ReviewTable", "review")):
            create_table_from_template(raw_ddb, logical, names[key])
        self.store = ObjectStore(s3, self.bucket)
        self.labels = LabelsTable(self.ddb, names["labels"])  # type: ignore[arg-type]
        self.runs = RunsTable(self.ddb, names["runs"])  # type: ignore[arg-type]
        self.table = ReviewTable(self.ddb, names["review"])  # type: ignore[arg-type]
        self.callbacks = FakeCallbacks()
        self.run_id = run_id
        stack = StackSettings(self.bucket, names["labels"], names["runs"])
        self.labeling_settings = LabelingSettings(
            stack, "", "arn:role", "arn:pre", "arn:post", workers, lease_seconds, availability, 1000, "",
            review_backend=SELF_HOSTED, review_table=names["review"],
        )  # fmt: skip
        self.review_settings = ReviewSettings(
            stack,
            names["review"],
            "pool",
            "client",
            "https://cognito",
            "",
            workers,
            lease_seconds,
            availability,
            REGION,
        )
        self.backend = SelfHostedJobs(self.table, self.store, self.labeling_settings, REGION, ACCOUNT)
        self.service = ReviewService(
            self.table, self.labels, self.runs, self.callbacks, self.store, self.review_settings
        )
        # the run: one batch per screen (one label each), its label items, the manifest, the stored token
        self.batches: list[Batch] = []
        lines = []
        for seq in range(screens):
            label = "Sea Turtle" if seq % 2 == 0 else "<img src=x onerror=alert(1)>"
            batch = build_batch(
                image_names(images, f"folder{seq}"), label, run_id=run_id, seq=seq + 1, bucket=self.bucket
            )
            self.batches.append(batch)
            self.store.put_json(batch.ref.key, batch.doc)
            lines.append(f'{{"source-ref": "{batch.ref.uri}", "batch-id": "{batch.ref.batch_id}"}}')
            self.labels.put_items(
                {
                    "run_partition": keys.partition(run_id, item["id"]),
                    "item_id": item["id"],
                    "run_id": run_id,
                    "s3_image_url": item["s3_uri"],
                    "image": item["image"],
                    "label": batch.label,
                    "confidence": float(item["confidence"]),
                    "line": item["line"],
                }
                for item in batch.doc["items"]
            )
        manifest = keys.manifest_key(run_id, 0)
        self.store.put_bytes(manifest, ("\n".join(lines) + "\n").encode())
        self.spec = JobSpec(
            run_id, 0, f"s3://{self.bucket}/{manifest}", screens, "s3://t/template", f"s3://{self.bucket}/out/"
        )
        self.job = self.spec.name
        self.runs.update(f"job#{self.job}", {"token": TOKEN, "run_id": run_id, "part": 0})

    def start(self) -> str:
        return self.backend.start(self.spec)

    def batch_of(self, lease: Lease) -> Batch:
        ids = sorted(image.id for image in lease.images)
        return next(b for b in self.batches if sorted(b.ids) == ids)

    def answer(self, lease: Lease, reject: int = 0) -> dict[str, dict[str, bool]]:
        """The page's answer for the lease's screen, its first ``reject`` images unchecked."""
        return {f"image-{image.id}": {"correct": n >= reject} for n, image in enumerate(lease.images)}

    def review(self, reviewer: str, reject: int = 0) -> Lease | None:
        """One turn: next task, answered; None when nothing is left for this reviewer."""
        lease = self.service.next_task(self.job, reviewer)
        if lease is not None:
            self.service.answer(lease.task_id, reviewer, lease.lease_id, self.answer(lease, reject))
        return lease

    def scan(self) -> list[dict[str, object]]:
        """Every item of the review table, the labels table and the runs table (for before/after checks)."""
        out = self.table.scan_all()
        for name in (self.labels.table, self.runs.table):
            for page in self.ddb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
                out.extend(page.get("Items", []))
        return out

    def labels_of(self, batch: Batch) -> list[dict[str, Any]]:
        items = []
        for item in batch.ids:
            got = self.ddb.get_item(
                TableName=self.labels.table,
                Key={"run_partition": {"S": keys.partition(self.run_id, item)}, "item_id": {"S": item}},
            )["Item"]
            items.append(from_item(got))
        return items

    def succeed_calls(self) -> int:
        return int(self.callbacks.calls["succeed"])


def in_threads(work: Callable[[int], None], count: int) -> None:
    """``work(n)`` for n in 0..count-1 on ``count`` threads; re-raises the first error."""
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
