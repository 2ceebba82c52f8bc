"""SpillPlanner (make_batches' streaming path) gives what the in-memory reference plan gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bulkqa import batching, keys
from bulkqa.rows import AcceptedRow
from tests.support import batching_reference as reference

LABELS = ["Crab", "Sea Turtle", 'Lobster, "king"', "Seestern\nmit Umbruch", "Écrevisse", "Z"]


def accepted_rows(seed: int, n: int) -> list[AcceptedRow]:
    """Accepted rows as chunk results hold them, in line order; some repeat an earlier (image, label)."""
    rng = random.Random(seed)
    rows: list[AcceptedRow] = []
    line = 1
    for i in range(n):
        line += rng.choice((1, 1, 1, 2, 5))  # rejected, blank and below-minimum rows leave gaps
        if rows and rng.random() < 0.08:  # a duplicate from an earlier chunk
            _, item, uri, image, label, _ = rng.choice(rows)
        else:
            label = rng.choice(LABELS)
            image = f"images/{i:05d}.jpg"
            uri = f"s3://bucket/{image}"
            item = keys.item_id(uri, label)
        rows.append(AcceptedRow(line, item, uri, image, label, round(rng.uniform(0, 100), 3)))
    return rows


def batch_facts(batches: list[batching.Batch]) -> list[tuple[int, str, list[AcceptedRow]]]:
    return [(b.seq, b.label, b.items) for b in sorted(batches, key=lambda b: b.seq)]


@pytest.mark.parametrize(
    ("seed", "n", "batch_size", "buckets"),
    [
        (1, 0, 25, 4),
        (2, 1, 25, 4),
        (3, 500, 25, 3),
        (4, 500, 7, 1),
        (5, 2000, 25, 64),
        (6, 300, 1, 5),
    ],
)
def test_the_streaming_plan_equals_the_in_memory_one(
    tmp_path: Path, seed: int, n: int, batch_size: int, buckets: int
) -> None:
    rows = accepted_rows(seed, n)
    dedup = reference.deduplicate(rows)
    expected = reference.make_batches(dedup.rows, batch_size)

    planner = batching.SpillPlanner(tmp_path, buckets=buckets)
    for row in rows:
        planner.add(row)
    emitted: list[batching.Batch] = []
    planned = planner.plan(batch_size, emitted.append)

    assert batch_facts(emitted) == batch_facts(expected)
    assert [b.seq for b in sorted(emitted, key=lambda b: b.seq)] == list(range(len(expected)))
    assert planned.tasks == len(expected)
    assert planned.images == len(dedup.rows)
    assert planned.labels == len({row.label for row in dedup.rows})
    assert planned.duplicates == dedup.duplicates
    assert planned.kept_over_duplicates == sorted(dedup.kept_over_duplicates, key=lambda r: r.line)
    if n >= 300:
        assert planned.duplicates, "the case should have cross-chunk duplicates"
    # the documents and manifest lines are those of the in-memory batches
    for got, want in zip(batch_facts(emitted), batch_facts(expected), strict=True):
        assert batching.Batch(*got).document("r") == batching.Batch(*want).document("r")


def test_rows_must_come_in_line_order(tmp_path: Path) -> None:
    planner = batching.SpillPlanner(tmp_path, buckets=2)
    first, second = accepted_rows(7, 2)
    planner.add(second)
    with pytest.raises(ValueError, match="line order"):
        planner.add(first)
