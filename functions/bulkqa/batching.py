"""Batching: accepted rows -> one-label batches of ``batch_size`` -> manifests of at most
``max_objects_per_job`` tasks (one labeling job each).

A batch is one Ground Truth data object (one reviewer screen). Labels are never mixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
