"""Batching: accepted rows -> one-label batches of ``batch_size`` -> manifests of at most
``max_objects_per_job`` tasks (one labeling job each).

A batch is one Ground Truth data object (one reviewer screen). Labels are never mixed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from . import jsonl, keys
from .prelabel import BATCH_FORMAT_VERSION
from .rows import AcceptedRow, RejectedRow

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


def split_jobs(tasks: list[T], max_objects_per_job: int) -> list[list[T]]:
    """Cut the task list (in batch order) into labeling jobs of at most ``max_objects_per_job`` tasks."""
    return [tasks[i : i + max_objects_per_job] for i in range(0, len(tasks), max_objects_per_job)]


@dataclass(slots=True)
class Planned:
    """What :class:`SpillPlanner` found about a run's accepted rows."""

    images: int  # accepted rows after cross-chunk de-duplication
    tasks: int
    labels: int
    duplicates: list[RejectedRow]  # in line order
    kept_over_duplicates: list[AcceptedRow]  # rows whose item a later duplicate overwrote, in line order


class SpillPlanner:
    """Cross-chunk de-duplication and one-label batches for runs too big to hold: rows go to local files.

    The first row of each (image, label) is kept, later ones become rejections; labels are sorted and
    each label's rows cut into batches in file order. Rows are added in line order (chunk results in
    chunk order). Each row is written twice: its (line, item, label) to one of ``buckets`` files
    chosen by item id, where duplicates meet, and the whole row to one chosen by label, where a
    label's rows meet in file order. :meth:`plan` then reads
    the item files one at a time (a bucket's ids in memory) to find duplicates and count each label,
    numbers the batches in label order, and reads the label files one at a time, handing each full
    batch to ``emit`` as soon as it is cut. Memory: one item bucket, at most ``batch_size - 1`` rows
    per label of one label bucket, and the cross-chunk duplicates found; disk: about 200 bytes a row.
    """

    def __init__(self, directory: Path, buckets: int = 64) -> None:
        self._buckets = buckets
        self._dir = directory
        self._item_files: list[IO[str]] = [
            (directory / f"items-{n:03d}.jsonl").open("w", encoding="utf-8") for n in range(buckets)
        ]
        self._label_files: list[IO[str]] = [
            (directory / f"labels-{n:03d}.jsonl").open("w", encoding="utf-8") for n in range(buckets)
        ]
        self._last_line = -1

    def _label_bucket(self, label: str) -> int:
        return zlib.crc32(label.encode("utf-8")) % self._buckets

    def add(self, row: AcceptedRow) -> None:
        """One accepted row; lines must increase."""
        line, item, label = row.line, row.item_id, row.label
        if line <= self._last_line:
            raise ValueError(f"rows must be added in line order: line {line} after line {self._last_line}")
        self._last_line = line
        self._item_files[int(item[:6], 16) % self._buckets].write(json.dumps([line, item, label]) + "\n")
        self._label_files[self._label_bucket(label)].write(jsonl.dumps_line(row) + "\n")

    def close(self) -> None:
        """Close the spill files (done by :meth:`plan`; call it when giving up before)."""
        for handle in (*self._item_files, *self._label_files):
            handle.close()

    def plan(self, batch_size: int, emit: Callable[[Batch], None]) -> Planned:
        self.close()
        # 1. duplicates meet in their item bucket: the first line of an item is kept
        kept_line: dict[int, int] = {}  # duplicate line -> the line kept
        rewrite: set[str] = set()
        per_label: dict[str, int] = {}
        for n in range(self._buckets):
            first: dict[str, int] = {}
            with (self._dir / f"items-{n:03d}.jsonl").open(encoding="utf-8") as handle:
                for text in handle:
                    line, item, label = json.loads(text)
                    if item in first:
                        kept_line[line] = first[item]
                        rewrite.add(item)
                        continue
                    first[item] = line
                    per_label[label] = per_label.get(label, 0) + 1
        # 2. batch numbers: labels sorted, each label's batches consecutive (as make_batches numbers them)
        next_seq: dict[str, int] = {}
        seq = 0
        for label in sorted(per_label):
            next_seq[label] = seq
            seq += -(-per_label[label] // batch_size)
        # 3. each label bucket in file order: cut full batches as they fill, the rest at the end
        duplicates: list[RejectedRow] = []
        kept_over: list[AcceptedRow] = []
        for n in range(self._buckets):
            open_batches: dict[str, list[AcceptedRow]] = {}
            with (self._dir / f"labels-{n:03d}.jsonl").open(encoding="utf-8") as handle:
                for text in handle:
                    row = AcceptedRow(*json.loads(text))
                    line, item, label = row.line, row.item_id, row.label
                    if line in kept_line:
                        duplicates.append(
                            RejectedRow(line, duplicate_reason(kept_line[line]), row.image, label, str(row.confidence))
                        )
                        continue
                    if item in rewrite:
                        kept_over.append(row)
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
        kept_over.sort(key=lambda r: r.line)
        return Planned(sum(per_label.values()), seq, len(per_label), duplicates, kept_over)
