"""What the steps need from the outside world, as ``typing.Protocol``s.

The steps (``bulkqa.steps``, ``bulkqa.analyze_step``) take these, never the concrete adapters:
``bulkqa.deps`` builds the real ones (``bulkqa.adapters``: S3, DynamoDB, Ground Truth, Step
Functions), ``tests/support/fakes.py`` has in-memory ones with the same observable behaviour
(``tests/handlers/test_ports_contract.py`` runs the same calls on both). The shipped code imports
this module for type checking only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .labeling import JobSpec, JobStatus

if TYPE_CHECKING:
    from .model import JobResult, LabelItem, RunRecord, StoredLabel
    from .review.queue import LeaseRef, Meta, Outcome, ReviewerCount, Slot, TaskRef

#: A Lambda event as it arrives: JSON from Step Functions, EventBridge or Ground Truth, not yet parsed.
RawEvent = Mapping[str, Any]


class LambdaContext(Protocol):
    """The part of Lambda's context object the functions read."""

    @property
    def invoked_function_arn(self) -> str: ...


class ObjectStore(Protocol):
    """The stack's bucket (``adapters.s3.ObjectStore``)."""

    @property
    def bucket(self) -> str: ...

    def size(self, key: str, version: str | None = None) -> int:
        """The object's size in bytes; raises if it does not exist."""
        ...

    def read_range(self, key: str, start: int, end: int, version: str | None = None) -> bytes:
        """Bytes [start, end) of an object."""
        ...

    def stream(self, key: str, start: int = 0, version: str | None = None) -> Iterator[bytes]:
        """The object's bytes from ``start``, in blocks."""
        ...

    def read_json(self, key: str) -> Any:
        """The object parsed as JSON (the caller parses it into its typed form)."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    def put_json(self, key: str, value: object) -> None:
        """The value as compact UTF-8 JSON."""
        ...

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> None: ...

    def put_many(self, objects: list[tuple[str, bytes, str]], threads: int = 16) -> None:
        """Many (key, data, content type) objects, concurrently."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""
        ...

    def copy(self, source_key: str, target_key: str) -> None: ...


class LabelsTable(Protocol):
    """One item per (run, image, label) (``adapters.dynamodb.LabelsTable``)."""

    def put_items(self, items: Iterable[LabelItem]) -> int:
        """Write (or overwrite) the items; returns the write requests made."""
        ...

    def delete_items(self, run_id: str, item_ids: Iterable[str]) -> int:
        """Delete items of a run (a missing item is no error); returns the write requests made."""
        ...

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
        """Set one image's verdict counts; False if the item does not exist (nothing is created).

        With ``version`` (the self-hosted backend: how many answers the counts come from) the write happens
        only if the item holds no newer or equal ``review_version``; a stale write changes nothing and still
        returns True (the item exists, and newer counts are there already)."""
        ...

    def run_items(self, run_id: str, attributes: tuple[str, ...] = ()) -> Iterator[StoredLabel]:
        """Every item of a run (only ``attributes`` if given), partition by partition, then by item id."""
        ...


class RunsTable(Protocol):
    """One item per run (``run#<id>``) and per labeling job (``job#<name>``) (``adapters.dynamodb.RunsTable``)."""

    def register_run(self, run_id: str, record: RunRecord) -> bool:
        """Create the run's item; False if it exists already (a duplicate upload event)."""
        ...

    def get(self, pk: str) -> RunRecord | None: ...

    def update(self, pk: str, values: RunRecord) -> None:
        """Set these attributes (creating the item if needed)."""
        ...


class ReviewBackend(Protocol):
    """Human review of a manifest of batches: Ground Truth today (``adapters.sagemaker``)."""

    def start(self, spec: JobSpec) -> str:
        """Start the job if it does not exist yet; return its ARN (same ARN when called twice)."""
        ...

    def status(self, name: str) -> JobStatus:
        """The job's current status."""
        ...

    def delivered(self, name: str) -> None:
        """The workflow has been resumed with the ended job's outcome (the backend may stop tracking it)."""
        ...


class TaskCallbacks(Protocol):
    """Resuming a workflow that waits on a task token (``adapters.stepfunctions.TaskCallbacks``)."""

    def succeed(self, token: str, output: JobResult) -> bool:
        """False if the token is no longer waiting (a duplicate, or the wait timed out)."""
        ...

    def fail(self, token: str, error: str, cause: str) -> bool: ...


class ReviewTable(Protocol):
    """The self-hosted backend's queue (``adapters.review_table.ReviewTable``; items in ``bulkqa.review.queue``)."""

    def create_job(self, meta: Meta, ttl: int) -> bool: ...

    def meta(self, job: str) -> Meta | None: ...

    def metas(self, jobs: list[str]) -> list[Meta]: ...

    def open_jobs(self) -> list[str]: ...

    def put_slots(self, slots: Iterable[Slot], shards: int, ttl: int) -> int: ...

    def begin(self, job: str, screens: int, shards: int, available_until: float) -> bool: ...

    def end_job(self, job: str, status: str, now: float, from_statuses: tuple[str, ...]) -> bool: ...

    def claim_delivery(self, job: str, now: float) -> bool: ...

    def mark_delivered(self, job: str) -> None: ...

    def reviewers(self, job: str) -> list[ReviewerCount]: ...

    def slot(self, ref: TaskRef) -> Slot | None: ...

    def screen_slots(self, job: str, seq: int) -> list[Slot]: ...

    def lease_of(self, reviewer: str, job: str) -> tuple[LeaseRef, float] | None: ...

    def leases(self, job: str, reviewers: list[str]) -> dict[str, float]: ...

    def candidates(
        self, job: str, shard: int, k: int, now: float, start: Mapping[str, Any] | None = None, limit: int = 25
    ) -> tuple[list[Slot], Mapping[str, Any] | None]: ...

    def markers(self, job: str, reviewer: str, seqs: Iterable[int]) -> set[int]: ...

    def queued(self, job: str, shards: int) -> Iterator[Slot]: ...

    def pending(self, job: str) -> list[TaskRef]: ...

    def claim(
        self,
        slot: Slot,
        reviewer: str,
        lease_id: str,
        until: float,
        now: float,
        seen_lease: str | None,
        ttl: int,
        workers: int = 1,
    ) -> Outcome:
        """Lease the slot unless another of the screen's ``workers`` turns is held by a live lease."""
        ...

    def heartbeat(self, ref: TaskRef, reviewer: str, lease_id: str, until: float) -> bool: ...

    def release(self, ref: TaskRef, reviewer: str, lease_id: str, now: float) -> bool: ...

    def answer(self, ref: TaskRef, reviewer: str, lease_id: str, answer: str, digest: str, now: float) -> Outcome: ...

    def drop_lease(self, reviewer: str, job: str, lease_id: str) -> None: ...

    def mark_tallied(self, ref: TaskRef) -> bool: ...

    def expire(self, job: str, slots: list[Slot]) -> int: ...
