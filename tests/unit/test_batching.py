"""SpillPlanner (make_batches' streaming path) gives what the in-memory reference plan gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bulkqa import batching, keys
from bulkqa.rows import AcceptedRow, BelowMinRow, RejectedRow
from tests.support import batching_reference as reference

ODD_NAME_PARTS = ("", "", "\u2028", "\u0085")  # image names may hold what splits lines elsewhere
LABELS = [
    "Crab",
    "Sea Turtle",
    'Lobster, "king"',
    "Seestern\nmit Umbruch",
    "Écrevisse",
    "Z",
    "Sea\u2028Star",
    "Sand\u0085Dollar",
]


def accepted_rows(seed: int, n: int) -> list[AcceptedRow]:
    """Accepted rows as chunk results hold them, in line order; some repeat an earlier (image, label)."""
    return [row for row in chunk_rows(seed, n, below_min_share=0.0) if isinstance(row, AcceptedRow)]


Row = AcceptedRow | BelowMinRow | RejectedRow


def chunk_rows(seed: int, n: int, below_min_share: float = 0.2) -> list[Row]:
    """Rows in line order: accepted, below the minimum and (half as many as those below) rejected for their confidence
    alone; some repeat an earlier (image, label), in any category."""
    rng = random.Random(seed)
    rows: list[Row] = []
    line = 1
    for i in range(n):
        line += rng.choice((1, 1, 1, 2, 5))  # rejected and blank rows leave gaps
        if rows and rng.random() < 0.08:  # a copy of a row of an earlier chunk
            earlier = rng.choice(rows)
            image, label, item = earlier.image, earlier.label, earlier.item_id
            uri = f"s3://bucket/{image}"
        else:
            label = rng.choice(LABELS)
            image = f"images/{i:05d}{rng.choice(ODD_NAME_PARTS)}.jpg"
            uri = f"s3://bucket/{image}"
            item = keys.item_id(uri, label)
        confidence = round(rng.uniform(0, 100), 3)
        draw = rng.random()
        if draw < below_min_share:
            rows.append(BelowMinRow(line, item, image, label, confidence, f"{confidence:.3f}"))
        elif draw < 1.5 * below_min_share:
            rows.append(RejectedRow(line, "confidence 'high' is not a number", image, label, "high", item))
        else:
            rows.append(AcceptedRow(line, item, uri, image, label, confidence))
    return rows


def add_all(planner: batching.SpillPlanner, rows: list[Row]) -> None:
    for row in rows:
        if isinstance(row, BelowMinRow):
            planner.add_below_min(row)
        elif isinstance(row, RejectedRow):
            planner.add_rejected(row)
        else:
            planner.add(row)


def batch_facts(batches: list[batching.Batch]) -> list[tuple[int, str, list[AcceptedRow]]]:
    return [(b.seq, b.label, b.items) for b in sorted(batches, key=lambda b: b.seq)]


@pytest.mark.parametrize(
    ("seed", "n", "batch_size", "buckets", "below_min_share"),
    [
        (1, 0, 25, 4, 0.2),
        (2, 1, 25, 4, 0.0),
        (3, 500, 25, 3, 0.0),
        (4, 500, 7, 1, 0.2),
        (5, 2000, 25, 64, 0.3),
        (6, 300, 1, 5, 0.5),
    ],
)
def test_the_streaming_plan_equals_the_in_memory_one(
    tmp_path: Path, seed: int, n: int, batch_size: int, buckets: int, below_min_share: float
) -> None:
    rows = chunk_rows(seed, n, below_min_share)
    accepted = [row for row in rows if isinstance(row, AcceptedRow)]
    below_min = [row for row in rows if isinstance(row, BelowMinRow)]
    dedup = reference.deduplicate(accepted, below_min, [row for row in rows if isinstance(row, RejectedRow)])
    expected = reference.make_batches(dedup.rows, batch_size)

    planner = batching.SpillPlanner(tmp_path, buckets=buckets)
    add_all(planner, rows)
    emitted: list[batching.Batch] = []
    planned = planner.plan(batch_size, emitted.append)

    assert batch_facts(emitted) == batch_facts(expected)
    assert [b.seq for b in sorted(emitted, key=lambda b: b.seq)] == list(range(len(expected)))
    assert planned.tasks == len(expected)
    assert planned.images == len(dedup.rows)
    assert planned.below_min == len(dedup.below_min)
    assert planned.labels == len({row.label for row in dedup.rows})
    assert planned.duplicates == dedup.duplicates
    assert planned.kept_line == dedup.kept_line
    assert planned.kept_over_duplicates == dedup.kept_over_duplicates
    assert planned.stored_below_min == dedup.stored_below_min
    # every row is in exactly one category, and no (image, label) in two
    unreadable = [row for row in rows if isinstance(row, RejectedRow)]
    assert planned.images + planned.below_min + len(planned.kept_line) == n - len(unreadable) + len(
        [row for row in unreadable if row.line in planned.kept_line]
    )
    assert not {r.item_id for r in dedup.rows} & {r.item_id for r in dedup.below_min}
    if n >= 300:
        assert planned.duplicates, "the case should have cross-chunk duplicates"
        if below_min_share:
            assert len(planned.kept_line) > len(planned.duplicates), "the case should have below-minimum duplicates"
            assert planned.stored_below_min, "the case should delete a below-minimum first copy's item"
    # the documents and manifest lines are those of the in-memory batches
    for got, want in zip(batch_facts(emitted), batch_facts(expected), strict=True):
        assert batching.Batch(*got).document("r") == batching.Batch(*want).document("r")


@pytest.mark.parametrize(
    ("first", "later", "category"),
    [
        ("below", "accepted", "below_min"),
        ("accepted", "below", "accepted"),
        ("below", "below", "below_min"),
        ("accepted", "accepted", "accepted"),
    ],
)
def test_the_first_copy_decides_whatever_the_later_ones_confidence(
    tmp_path: Path, first: str, later: str, category: str
) -> None:
    uri, label = "s3://bucket/crab/1.jpg", "Crab"
    item = keys.item_id(uri, label)

    def row(line: int, kind: str, confidence: float) -> AcceptedRow | BelowMinRow:
        if kind == "below":
            return BelowMinRow(line, item, "crab/1.jpg", label, confidence, str(confidence))
        return AcceptedRow(line, item, uri, "crab/1.jpg", label, confidence)

    planner = batching.SpillPlanner(tmp_path, buckets=2)
    add_all(planner, [row(5, first, 10.0 if first == "below" else 95.0), row(900, later, 99.0)])
    emitted: list[batching.Batch] = []
    planned = planner.plan(25, emitted.append)
    assert (planned.images, planned.below_min) == ((1, 0) if category == "accepted" else (0, 1))
    assert [r.line for b in emitted for r in b.items] == ([5] if category == "accepted" else [])
    if later == "accepted":
        assert [d.line for d in planned.duplicates] == [900]
        assert planned.duplicates[0].reason == "duplicate of line 5 (same image and label); the first one is kept"
        # the later copy wrote the item to the labels table: an accepted first copy is written again, a
        # first copy below the minimum (counted, never stored) is deleted
        if first == "below":
            assert (planned.kept_over_duplicates, planned.stored_below_min) == ([], [item])
        else:
            assert planned.kept_over_duplicates == [AcceptedRow(5, item, uri, "crab/1.jpg", label, 95.0)]
            assert planned.stored_below_min == []
    else:
        assert not planned.duplicates and not planned.kept_over_duplicates and not planned.stored_below_min
    assert planned.kept_line == {900: 5}


def test_rows_must_come_in_line_order(tmp_path: Path) -> None:
    planner = batching.SpillPlanner(tmp_path, buckets=2)
    first, second = accepted_rows(7, 2)
    planner.add(second)
    with pytest.raises(ValueError, match="line order"):
        planner.add(first)
