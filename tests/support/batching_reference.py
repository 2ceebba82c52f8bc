"""The in-memory plan of a run's batches: what ``batching.SpillPlanner`` must give, for small inputs.

make_batches computed exactly this, holding every accepted row, before it streamed; tests use it as
the reference the streaming plan is compared with, and to build a small run's batches directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bulkqa import batching
from bulkqa.rows import AcceptedRow, RejectedRow


@dataclass(slots=True)
class Deduplicated:
    rows: list[AcceptedRow] = field(default_factory=list)
    duplicates: list[RejectedRow] = field(default_factory=list)
    kept_over_duplicates: list[AcceptedRow] = field(default_factory=list)  # rows a later duplicate overwrote


def deduplicate(accepted: Iterable[AcceptedRow]) -> Deduplicated:
    """Keep the first row of each (image, label) across chunks; later ones become rejections.

    Chunks are validated in parallel, so a duplicate in a later chunk may have overwritten the
    first row's item: those first rows are returned so their items can be written again.
    """
    out = Deduplicated()
    first: dict[str, AcceptedRow] = {}
    rewrite: dict[str, AcceptedRow] = {}
    for row in sorted(accepted, key=lambda r: r.line):
        if row.item_id in first:
            kept = first[row.item_id]
            reason = batching.duplicate_reason(kept.line)
            out.duplicates.append(RejectedRow(row.line, reason, row.image, row.label, str(row.confidence)))
            rewrite[row.item_id] = kept
            continue
        first[row.item_id] = row
        out.rows.append(row)
    out.kept_over_duplicates = list(rewrite.values())
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
