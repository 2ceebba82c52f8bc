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
        self, run_id: str, item: str, confirms: int, rejects: int, reviewers: Mapping[str, str], job: str, batch: str
    ) -> bool:
        """Set one image's verdict counts; False if the item does not exist (nothing is created)."""
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


class TaskCallbacks(Protocol):
    """Resuming a workflow that waits on a task token (``adapters.stepfunctions.TaskCallbacks``)."""

    def succeed(self, token: str, output: JobResult) -> bool:
        """False if the token is no longer waiting (a duplicate, or the wait timed out)."""
        ...

    def fail(self, token: str, error: str, cause: str) -> bool: ...
