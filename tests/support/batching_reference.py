"""The in-memory plan of a run's batches: what ``batching.SpillPlanner`` must give, for small inputs.

make_batches computed exactly this, holding every row, before it streamed; tests use it as the
reference the streaming plan is compared with, and to build a small run's batches directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bulkqa import batching
from bulkqa.rows import AcceptedRow, BelowMinRow, RejectedRow


@dataclass(slots=True)
class Deduplicated:
    rows: list[AcceptedRow] = field(default_factory=list)  # accepted first copies
    below_min: list[BelowMinRow] = field(default_factory=list)  # below-minimum first copies
    duplicates: list[RejectedRow] = field(default_factory=list)  # accepted rows that repeat an earlier copy
    kept_line: dict[int, int] = field(default_factory=dict)  # every later copy's line -> the first copy's line
    kept_over_duplicates: list[AcceptedRow] = field(default_factory=list)  # items to write again, in line order
    stored_below_min: list[str] = field(default_factory=list)  # items to delete: first copy below the minimum


def deduplicate(
    accepted: Iterable[AcceptedRow], below_min: Iterable[BelowMinRow] = (), rejected: Iterable[RejectedRow] = ()
) -> Deduplicated:
    """The first copy of each (image, label) in file order decides its category; later copies are duplicates.

    A row rejected for its confidence alone (``item_id`` set) is never a first copy, but a later copy.

    Chunks are validated in parallel, so an accepted copy in a later chunk may have overwritten the
    first copy's item: those first copies are returned so their items can be written again, and a
    first copy below the minimum (counted, never stored) is returned so its item can be deleted.
    """
    out = Deduplicated()
    first: dict[str, AcceptedRow | BelowMinRow] = {}
    rewrite: dict[str, AcceptedRow] = {}
    stored_below: set[str] = set()
    rows: list[AcceptedRow | BelowMinRow | RejectedRow] = [*accepted, *below_min, *(r for r in rejected if r.item_id)]
    for row in sorted(rows, key=lambda r: r.line):
        kept = first.get(row.item_id)
        if kept is not None:
            out.kept_line[row.line] = kept.line
        if isinstance(row, RejectedRow):  # rejected for its confidence alone: never a first copy
            continue
        if kept is None:
            first[row.item_id] = row
            if isinstance(row, BelowMinRow):
                out.below_min.append(row)
            else:
                out.rows.append(row)
            continue
        if isinstance(row, BelowMinRow):
            continue
        reason = batching.duplicate_reason(kept.line)
        confidence = row.confidence_text or str(row.confidence)
        out.duplicates.append(RejectedRow(row.line, reason, row.image, row.label, confidence))
        if isinstance(kept, BelowMinRow):
            stored_below.add(row.item_id)
        else:
            rewrite[row.item_id] = kept
    out.kept_over_duplicates = sorted(rewrite.values(), key=lambda r: r.line)
    out.stored_below_min = sorted(stored_below)
    return out


def make_batches(rows: Iterable[AcceptedRow], batch_size: int) -> list[batching.Batch]:
    """Group rows by label (labels sorted, rows in file order) and cut them into batches."""
    by_label: dict[str, list[AcceptedRow]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    batches: list[batching.Batch] = []
    for label in sorted(by_label):
        items = by_label[label]
        for start in range(0, len(items), batch_size):
            batches.append(batching.Batch(len(batches), label, items[start : start + batch_size]))
    return batches
