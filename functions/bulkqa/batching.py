"""Batching: accepted rows -> one-label batches of ``batch_size`` -> manifests of at most
``max_objects_per_job`` tasks (one labeling job each).

A batch is one Ground Truth data object (one reviewer screen). Labels are never mixed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import keys
from .prelabel import BATCH_FORMAT_VERSION


@dataclass(slots=True)
class Batch:
    seq: int
    label: str
    items: list[list[Any]]  # accepted rows: [line, item_id, s3_uri, image, label, confidence]

    @property
    def digest(self) -> str:
        return keys.batch_digest([row[1] for row in self.items])

    def key(self, run_id: str) -> str:
        return keys.batch_key(run_id, self.seq, self.digest)

    def document(self, run_id: str) -> dict[str, Any]:
        return {
            "version": BATCH_FORMAT_VERSION,
            "run_id": run_id,
            "seq": self.seq,
            "label": self.label,
            "items": [
                {"id": r[1], "image": r[3], "s3_uri": r[2], "confidence": r[5], "line": r[0]} for r in self.items
            ],
        }

    def manifest_line(self, run_id: str, bucket: str) -> str:
        return json.dumps(
            {
                "source-ref": f"s3://{bucket}/{self.key(run_id)}",
                "batch-id": f"{self.seq:06d}-{self.digest}",
                "label": self.label,
                "image-count": len(self.items),
            },
            ensure_ascii=False,
        )


@dataclass(slots=True)
class Deduplicated:
    rows: list[list[Any]] = field(default_factory=list)
    duplicates: list[list[Any]] = field(default_factory=list)  # rejected rows: [line, reason, image, label, confidence]
    kept_over_duplicates: list[list[Any]] = field(default_factory=list)  # rows whose item a later duplicate overwrote


def deduplicate(accepted: Iterable[list[Any]]) -> Deduplicated:
    """Keep the first row of each (image, label) across chunks; later ones become rejections.

    Chunks are validated in parallel, so a duplicate in a later chunk may have overwritten the
    first row's item: those first rows are returned so their items can be written again.
    """
    out = Deduplicated()
    first: dict[str, list[Any]] = {}
    rewrite: dict[str, list[Any]] = {}
    for row in sorted(accepted, key=lambda r: int(r[0])):
        item = row[1]
        if item in first:
            kept = first[item]
            out.duplicates.append(
                [
                    row[0],
                    f"duplicate of line {kept[0]} (same image and label); the first one is kept",
                    row[3],
                    row[4],
                    str(row[5]),
                ]
            )
            rewrite[item] = kept
            continue
        first[item] = row
        out.rows.append(row)
    out.kept_over_duplicates = list(rewrite.values())
    return out


def make_batches(rows: Iterable[list[Any]], batch_size: int) -> list[Batch]:
    """Group rows by label (labels sorted, rows in file order) and cut them into batches."""
    by_label: dict[str, list[list[Any]]] = {}
    for row in rows:
        by_label.setdefault(row[4], []).append(row)
    batches: list[Batch] = []
    for label in sorted(by_label):
        items = by_label[label]
        for start in range(0, len(items), batch_size):
            batches.append(Batch(len(batches), label, items[start : start + batch_size]))
    return batches


def split_jobs(batches: list[Batch], max_objects_per_job: int) -> list[list[Batch]]:
    """Cut the task list into labeling jobs of at most ``max_objects_per_job`` tasks."""
    return [batches[i : i + max_objects_per_job] for i in range(0, len(batches), max_objects_per_job)]


@dataclass(slots=True)
class Planned:
    """What :class:`SpillPlanner` found: the same facts :func:`deduplicate` and :func:`make_batches` give."""

    images: int  # accepted rows after cross-chunk de-duplication
    tasks: int
    labels: int
    duplicates: list[list[Any]]  # rejected rows: [line, reason, image, label, confidence], in line order
    kept_over_duplicates: list[list[Any]]  # rows whose item a later duplicate overwrote


class SpillPlanner:
    """:func:`deduplicate` + :func:`make_batches` for runs too big to hold: rows go to local files.

    Rows are added in line order (chunk results in chunk order). Each row is written twice: its
    (line, item, label) to one of ``buckets`` files chosen by item id, where duplicates meet, and the
    whole row to one chosen by label, where a label's rows meet in file order. :meth:`plan` then reads
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

    def add(self, row: list[Any]) -> None:
        """One accepted row: [line, item_id, s3_uri, image, label, confidence]; lines must increase."""
        line = int(row[0])
        if line <= self._last_line:
            raise ValueError(f"rows must be added in line order: line {line} after line {self._last_line}")
        self._last_line = line
        item, label = row[1], row[4]
        self._item_files[int(item[:6], 16) % self._buckets].write(json.dumps([line, item, label]) + "\n")
        self._label_files[self._label_bucket(label)].write(json.dumps(row, ensure_ascii=False) + "\n")

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
        duplicates: list[list[Any]] = []
        kept_over: list[list[Any]] = []
        for n in range(self._buckets):
            open_batches: dict[str, list[list[Any]]] = {}
            with (self._dir / f"labels-{n:03d}.jsonl").open(encoding="utf-8") as handle:
                for text in handle:
                    row = json.loads(text)
                    line, item, label = row[0], row[1], row[4]
                    if line in kept_line:
                        reason = f"duplicate of line {kept_line[line]} (same image and label); the first one is kept"
                        duplicates.append([line, reason, row[3], label, str(row[5])])
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
        duplicates.sort(key=lambda r: int(r[0]))
        kept_over.sort(key=lambda r: int(r[0]))
        return Planned(sum(per_label.values()), seq, len(per_label), duplicates, kept_over)
