"""The in-memory plan of a run's batches: what ``batching.SpillPlanner`` must give, for small inputs.

make_batches computed exactly this, holding every accepted row, before it streamed; tests use it as
the reference the streaming plan is compared with, and to build a small run's batches directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bulkqa import batching


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
            out.duplicates.append([row[0], batching.duplicate_reason(kept[0]), row[3], row[4], str(row[5])])
            rewrite[item] = kept
            continue
        first[item] = row
        out.rows.append(row)
    out.kept_over_duplicates = list(rewrite.values())
    return out


def make_batches(rows: Iterable[list[Any]], batch_size: int) -> list[batching.Batch]:
    """Group rows by label (labels sorted, rows in file order) and cut them into batches."""
    by_label: dict[str, list[list[Any]]] = {}
    for row in rows:
        by_label.setdefault(row[4], []).append(row)
    batches: list[batching.Batch] = []
    for label in sorted(by_label):
        items = by_label[label]
        for start in range(0, len(items), batch_size):
            batches.append(batching.Batch(len(batches), label, items[start : start + batch_size]))
    return batches
