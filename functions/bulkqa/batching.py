"""Batching: accepted rows -> one-label batches of ``batch_size`` -> manifests of at most
``max_objects_per_job`` tasks (one labeling job each).

A batch is one Ground Truth data object (one reviewer screen). Labels are never mixed.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from . import jsonl, keys
from .prelabel import BATCH_FORMAT_VERSION
from .rows import AcceptedRow, BelowMinRow, RejectedRow

if TYPE_CHECKING:
    from .model import BatchDocument, ManifestLine

T = TypeVar("T")


@dataclass(slots=True)
class Batch:
    seq: int
    label: str
    items: list[AcceptedRow]

    @property
    def digest(self) -> str:
        return keys.batch_digest([row.item_id for row in self.items])

    def key(self, run_id: str) -> str:
        return keys.batch_key(run_id, self.seq, self.digest)

    def document(self, run_id: str) -> BatchDocument:
        return {
            "version": BATCH_FORMAT_VERSION,
            "run_id": run_id,
            "seq": self.seq,
            "label": self.label,
            "items": [
                {"id": r.item_id, "image": r.image, "s3_uri": r.s3_uri, "confidence": r.confidence, "line": r.line}
                for r in self.items
            ],
        }

    def manifest_line(self, run_id: str, bucket: str) -> str:
        line: ManifestLine = {
            "source-ref": f"s3://{bucket}/{self.key(run_id)}",
            "batch-id": f"{self.seq:06d}-{self.digest}",
            "label": self.label,
            "image-count": len(self.items),
        }
        return jsonl.dumps_line(line)  # one physical line whatever the label holds (U+2028...)


def duplicate_reason(kept_line: int) -> str:
    """rejected.csv's reason for a row that repeats an earlier row's (image, label)."""
    return f"duplicate of line {kept_line} (same image and label); the first one is kept"


_DUPLICATE_REASON = re.compile(re.escape(duplicate_reason(0)).replace("0", r"(\d+)", 1))


def duplicate_of(reason: str) -> int | None:
    """The line a :func:`duplicate_reason` names (ingest gives it inside a chunk), or None for another reason."""
    match = _DUPLICATE_REASON.fullmatch(reason)
    return int(match.group(1)) if match else None


def split_jobs(tasks: list[T], max_objects_per_job: int) -> list[list[T]]:
    """Cut the task list (in batch order) into labeling jobs of at most ``max_objects_per_job`` tasks."""
    return [tasks[i : i + max_objects_per_job] for i in range(0, len(tasks), max_objects_per_job)]


@dataclass(slots=True)
class Planned:
    """What :class:`SpillPlanner` found about a run's rows, once each (image, label) is settled by file order."""

    images: int  # accepted rows that are the first copy of their (image, label)
    tasks: int
    labels: int
    below_min: int  # rows below the minimum confidence that are the first copy of their (image, label)
    duplicates: list[RejectedRow]  # accepted rows that repeat an earlier copy, in line order
    #: every later copy added (accepted, below the minimum or rejected) -> the line of the first copy, which decided
    kept_line: dict[int, int]
    #: items to write again, in line order: a later accepted copy in another chunk overwrote them
    kept_over_duplicates: list[AcceptedRow]
    #: items to delete, sorted: their first copy was below the minimum, but a later accepted copy in another
    #: chunk wrote them to the labels table (a below-minimum row is counted, never stored)
    stored_below_min: list[str]


class SpillPlanner:
    """Duplicates across chunks and one-label batches for runs too big to hold: rows go to local files.

    The rule (each chunk applies it inside itself; this applies it across chunks): the first copy of an
    (image, label) in file order decides its category, accepted or below the minimum confidence; every
    later copy is a duplicate of that line, whatever its own confidence, so no (image, label) is in two
    categories. A row rejected for its confidence alone (image and label valid: ``RejectedRow.item_id``)
    is never a first copy but is a duplicate of an earlier one; rows rejected for their image or label
    have no (image, label) that counts and never take part.

    Rows are added in line order (chunk results in chunk order, each chunk's rows merged by line). An
    accepted row is written twice: its (line, item, label) to one of ``buckets`` files chosen by item
    id, where copies meet, and the whole row to one chosen by label, where a label's rows meet in file
    order; a below-minimum or rejected row only to its item file. :meth:`plan`
    then reads the item files one at a time (a bucket's ids in memory) to settle each item and count
    each label, numbers the batches in label order, and reads the label files one at a time, handing
    each full batch to ``emit`` as soon as it is cut. Memory: one item bucket, at most
    ``batch_size - 1`` rows per label of one label bucket, and the cross-chunk duplicates found; disk:
    about 200 bytes an accepted row. Every spill line is one physical line (``\\n`` only: item lines
    are ASCII-escaped JSON, label lines go through :func:`bulkqa.jsonl.dumps_line`).
    """

    def __init__(self, directory: Path, buckets: int = 64) -> None:
        self._buckets = buckets
        self._dir = directory
        self._item_files: list[IO[str]] = [
            (directory / f"items-{n:03d}.jsonl").open("w", encoding="utf-8", newline="\n") for n in range(buckets)
        ]
        self._label_files: list[IO[str]] = [
            (directory / f"labels-{n:03d}.jsonl").open("w", encoding="utf-8", newline="\n") for n in range(buckets)
        ]
        self._last_line = -1

    def _label_bucket(self, label: str) -> int:
        return zlib.crc32(label.encode("utf-8")) % self._buckets

    def _next_line(self, line: int) -> None:
        if line <= self._last_line:
            raise ValueError(f"rows must be added in line order: line {line} after line {self._last_line}")
        self._last_line = line

    def add(self, row: AcceptedRow) -> None:
        """One accepted row; lines must increase (whatever the kind of row)."""
        line, item, label = row.line, row.item_id, row.label
        self._next_line(line)
        self._item_files[int(item[:6], 16) % self._buckets].write(json.dumps([line, item, label]) + "\n")
        self._label_files[self._label_bucket(label)].write(jsonl.dumps_line(row) + "\n")

    def add_below_min(self, row: BelowMinRow) -> None:
        """One row below the minimum confidence; lines must increase (whatever the kind of row).

        It never reaches a batch, but it may be the first copy of an (image, label) that a later
        chunk accepted and wrote to the labels table: that item is then deleted.
        """
        line, item = row.line, row.item_id
        self._next_line(line)
        record = [line, item, row.label, None]
        self._item_files[int(item[:6], 16) % self._buckets].write(json.dumps(record) + "\n")

    def add_rejected(self, row: RejectedRow) -> None:
        """A row rejected for its confidence alone (``row.item_id`` set); lines must increase.

        It is never a first copy, but it is a duplicate when an earlier copy of its (image, label) decided.
        """
        line, item = row.line, row.item_id
        self._next_line(line)
        self._item_files[int(item[:6], 16) % self._buckets].write(json.dumps([line, item]) + "\n")

    def close(self) -> None:
        """Close the spill files (done by :meth:`plan`; call it when giving up before)."""
        for handle in (*self._item_files, *self._label_files):
            handle.close()

    def plan(self, batch_size: int, emit: Callable[[Batch], None]) -> Planned:
        self.close()
        # 1. the copies of an item meet in its item bucket: the first line decides, later ones are duplicates
        kept_line: dict[int, int] = {}  # line of a later copy -> the line kept
        rewrite: set[str] = set()  # accepted first copies a later accepted copy overwrote in the table
        stored_below: set[str] = set()  # first copies below the minimum that a later accepted copy stored
        per_label: dict[str, int] = {}
        below_min = 0
        for n in range(self._buckets):
            first: dict[str, int] = {}  # item -> the line of its first copy
            first_below: set[str] = set()  # items whose first copy is below the minimum
            with (self._dir / f"items-{n:03d}.jsonl").open(encoding="utf-8") as handle:
                for text in handle:
                    record = json.loads(text)
                    line, item = record[0], record[1]
                    kept_at = first.get(item)
                    if kept_at is None:
                        if len(record) == 2:  # rejected for its confidence: not a first copy
                            continue
                        first[item] = line
                        if len(record) == 3:
                            per_label[record[2]] = per_label.get(record[2], 0) + 1
                        else:
                            below_min += 1
                            first_below.add(item)
                        continue
                    kept_line[line] = kept_at
                    if len(record) != 3:  # a later copy below the minimum or rejected: never written to the table
                        continue
                    if item in first_below:
                        stored_below.add(item)
                    else:
                        rewrite.add(item)
        # 2. batch numbers: labels sorted, each label's batches consecutive (as make_batches numbers them)
        next_seq: dict[str, int] = {}
        seq = 0
        for label in sorted(per_label):
            next_seq[label] = seq
            seq += -(-per_label[label] // batch_size)
        # 3. each label bucket in file order: cut full batches as they fill, the rest at the end
        duplicates: list[RejectedRow] = []
        kept_over: dict[str, AcceptedRow] = {}
        for n in range(self._buckets):
            open_batches: dict[str, list[AcceptedRow]] = {}
            with (self._dir / f"labels-{n:03d}.jsonl").open(encoding="utf-8") as handle:
                for text in handle:
                    row = AcceptedRow(*json.loads(text))
                    line, item, label = row.line, row.item_id, row.label
                    if line in kept_line:
                        duplicates.append(
                            RejectedRow(
                                line,
                                duplicate_reason(kept_line[line]),
                                row.image,
                                label,
                                row.confidence_text or str(row.confidence),
                            )
                        )
                        continue
                    if item in rewrite:
                        kept_over[item] = row
                    items = open_batches.setdefault(label, [])
                    items.append(row)
                    if len(items) == batch_size:
                        emit(Batch(next_seq[label], label, items))
                        next_seq[label] += 1
                        open_batches[label] = []
            for label, items in open_batches.items():
                if items:
                    emit(Batch(next_seq[label], label, items))
                    next_seq[label] += 1
        duplicates.sort(key=lambda r: r.line)
        return Planned(
            images=sum(per_label.values()),
            tasks=seq,
            labels=len(per_label),
            below_min=below_min,
            duplicates=duplicates,
            kept_line=kept_line,
            kept_over_duplicates=sorted(kept_over.values(), key=lambda r: r.line),
            stored_below_min=sorted(stored_below),
        )
