"""Duplicates are settled the same wherever the file's chunks begin and end (#17, point 3).

Rule: the first copy of an (image, label) in file order decides its category (accepted, or below the
minimum confidence); every later copy is a duplicate of that line, whatever its own confidence, so no
(image, label) is ever in two categories. A row rejected for another reason (a bad confidence, a bad
image) has no (image, label) that counts: a later valid copy is judged on its own. Each file below runs
through the real steps on the fakes with chunks of every size from one row to the whole file.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from bulkqa import keys
from bulkqa.rows import RejectedRow
from tests.support.fakes import FakeStack

HEADER = "image_local_path,label,confidence\n"
MINIMUM = 50.0
#: IngestChunkBytes: one chunk per row (about), a few rows per chunk, the whole file in one chunk
CHUNK_SIZES = [1, 40, 90, 4 * 1024 * 1024]


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode("utf-8")


def run(data: bytes, chunk_bytes: int) -> tuple[FakeStack, str, dict]:
    world = FakeStack()
    world.ingest_settings = type(world.ingest_settings)(world.stack, MINIMUM, "", chunk_bytes, "percent")
    run_id, out = world.batches(data)
    return world, run_id, dict(out)


def rejected_rows(world: FakeStack, run_id: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(world.store.text(keys.rejected_key(run_id)))))[1:]


def batched_lines(world: FakeStack, run_id: str) -> list[int]:
    lines: list[int] = []
    for key in world.store.keys(f"runs/{run_id}/batches/"):
        document = world.store.json(key)
        assert isinstance(document, dict)
        lines += [item["line"] for item in document["items"]]
    return sorted(lines)


def reviewed_items(world: FakeStack, run_id: str) -> dict[str, tuple[object, object]]:
    """What the analysis reads: item id -> (line, confidence). A below-minimum row is counted, never stored."""
    items = world.labels.of_run(run_id)
    assert all(float(str(item["confidence"])) >= MINIMUM for item in items), items
    return {str(item["item_id"]): (item["line"], item["confidence"]) for item in items}


FILLER = [f"fill/{n}.jpg,Dog,{60 + n}" for n in range(6)]
CASES = {
    # first copy below the minimum, a later copy above it: the pair is below the minimum, the copy a duplicate
    "below-then-above": (["a.jpg,Crab,10.50", *FILLER, "a.jpg,Crab,99"], {9: 2}, [2], []),
    # first copy accepted, a later copy below the minimum: the pair is accepted, the copy a duplicate
    "above-then-below": (["b.jpg,Crab,90", *FILLER, "b.jpg,Crab,20"], {9: 2}, [], [2]),
    # three copies in three categories' worth of confidences: the first decides for all
    "three-copies": (
        ["c.jpg,Crab,5", *FILLER[:3], "c.jpg,Crab,95", *FILLER[3:], "c.jpg,Crab,7"],
        {6: 2, 10: 2},
        [2],
        [],
    ),
    "three-copies-accepted-first": (
        ["c.jpg,Crab,95", *FILLER[:3], "c.jpg,Crab,5", *FILLER[3:], "c.jpg,Crab,97"],
        {6: 2, 10: 2},
        [],
        [2],
    ),
    # a row rejected for another reason does not count as a first copy
    "rejected-then-valid": (["d.jpg,Crab,high", *FILLER, "d.jpg,Crab,70"], {}, [], [9]),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("chunk_bytes", CHUNK_SIZES)
def test_the_first_copy_decides_wherever_the_chunks_end(name: str, chunk_bytes: int) -> None:
    rows, duplicates, below, accepted_pair = CASES[name]
    world, run_id, out = run(csv_file(*rows), chunk_bytes)
    if chunk_bytes == 1:
        assert len(world.store.keys(f"runs/{run_id}/ingest/results/")) == len(rows)  # one chunk per row
    counts = out["rows"]
    assert counts["total"] == len(rows)
    assert counts["accepted"] + counts["rejected"] + counts["below_min_confidence"] == counts["total"]
    listed = {int(r[0]): r for r in rejected_rows(world, run_id)}
    for line, kept in duplicates.items():
        assert listed[line][1] == f"duplicate of line {kept} (same image and label); the first one is kept"
    below_lines = {line for line, r in listed.items() if "below the minimum confidence" in r[1]}
    other_rejected = {line for line, r in listed.items() if line not in duplicates and line not in below_lines}
    assert below_lines == set(below)
    assert counts["below_min_confidence"] == len(below)
    assert counts["rejected"] == len(duplicates) + len(other_rejected)
    # the pair is batched only if its first copy was accepted, and only that copy
    batched = batched_lines(world, run_id)
    assert counts["accepted"] == len(batched) == len(rows) - len(listed)
    assert set(accepted_pair) <= set(batched)
    assert not set(duplicates) & set(batched)
    # no (image, label) in two categories: what the analysis reads holds no duplicate and no below-minimum pair
    assert sorted(line for line, _ in reviewed_items(world, run_id).values()) == batched


@pytest.mark.parametrize("name", list(CASES))
def test_every_chunking_gives_the_same_answer(name: str) -> None:
    rows = CASES[name][0]
    answers = []
    for chunk_bytes in CHUNK_SIZES:
        world, run_id, out = run(csv_file(*rows), chunk_bytes)
        answers.append((out["rows"], rejected_rows(world, run_id), batched_lines(world, run_id)))
        answers[-1] += (sorted(reviewed_items(world, run_id).values()),)
    assert all(answer == answers[0] for answer in answers[1:]), answers


def test_a_large_file_cut_anywhere_gives_the_same_answer() -> None:
    """Many pairs repeated at random distances, in both orders of categories, with chunks of every size."""
    rows = []
    for n in range(120):
        pair = n % 17
        confidence = 20 + (n * 37) % 80  # below and above the minimum of 50, in varying order
        rows.append(f"img/{pair}.jpg,{'Crab' if n % 3 else 'Dog'},{confidence}")
    answers = []
    for chunk_bytes in (1, 33, 100, 257, 1000, 4 * 1024 * 1024):
        world, run_id, out = run(csv_file(*rows), chunk_bytes)
        counts = out["rows"]
        assert counts["accepted"] + counts["rejected"] + counts["below_min_confidence"] == counts["total"] == 120
        summary = world.store.json(keys.ingest_summary_key(run_id))
        assert isinstance(summary, dict) and summary["rows"] == counts
        answers.append((counts, rejected_rows(world, run_id), batched_lines(world, run_id)))
        answers[-1] += (sorted(reviewed_items(world, run_id).values()),)
    assert all(answer == answers[0] for answer in answers[1:])
    counts = answers[0][0]
    assert counts["accepted"] + counts["below_min_confidence"] == 2 * 17  # one category per (image, label)


# --- a copy rejected for its confidence alone -------------------------------------------------------


UNREADABLE_LATER = [
    "a.jpg,Crab,90",
    *FILLER,
    "a.jpg,Crab,high",  # line 9: a later copy, its confidence unreadable: a duplicate of line 2
    "b.jpg,Crab,high",  # line 10: unreadable and the first of its pair: rejected, not a first copy
    "x/1.jpg,Dog,80",
    "x/2.jpg,Dog,81",
    "b.jpg,Crab,70",  # line 13: accepted
]


def test_a_later_copy_rejected_for_its_confidence_is_a_duplicate_across_chunks() -> None:
    """make_batches' part: given the pair of a row rejected for its confidence, an earlier copy makes it a duplicate.

    The chunk results are those ingest writes, with the pair's item id set on every rejected row here,
    so this checks make_batches alone.
    """
    from bulkqa import steps

    world = FakeStack()
    world.ingest_settings = type(world.ingest_settings)(world.stack, MINIMUM, "", 40, "percent")
    run_, plan, _ = world.ingest(csv_file(*UNREADABLE_LATER))
    for key in world.store.keys(f"runs/{run_['run_id']}/ingest/results/"):
        saved = world.store.json(key)
        assert isinstance(saved, dict)
        for row in saved["rejected"]:
            image, label = row[2], row[3]
            row[5:] = [keys.item_id(f"s3://bkt/{image}", label)]
        world.store.put_json(key, saved)
    event = {"run_id": run_["run_id"], "ingest": {"chunks": plan["chunks"]}}
    out = steps.make_batches(event, world.batch_settings, world.store, world.labels, world.runs)
    listed = {int(r[0]): r for r in rejected_rows(world, run_["run_id"])}
    assert listed[9][1] == "duplicate of line 2 (same image and label); the first one is kept"
    assert listed[9][4] == "high" and len(listed[9]) == 5  # the item id is never a column of rejected.csv
    assert "not a number" in listed[10][1]  # not a first copy: the later valid copy is accepted
    assert 13 in batched_lines(world, run_["run_id"])
    counts = out["rows"]
    assert (counts["accepted"], counts["rejected"], counts["below_min_confidence"]) == (10, 2, 0)


@pytest.mark.parametrize("chunk_bytes", CHUNK_SIZES)
def test_a_later_copy_rejected_for_its_confidence_is_a_duplicate_wherever_the_chunks_end(chunk_bytes: int) -> None:
    world, run_id, _ = run(csv_file(*UNREADABLE_LATER), chunk_bytes)
    listed = {int(r[0]): r for r in rejected_rows(world, run_id)}
    assert listed[9][1] == "duplicate of line 2 (same image and label); the first one is kept"
    assert "not a number" in listed[10][1]
    assert 13 in batched_lines(world, run_id)


# --- rejected.csv ------------------------------------------------------------------------------------


def test_rejected_csv_shows_the_confidence_as_written() -> None:
    rows = ["a.jpg,Crab,10.50", "b.jpg,Crab,4.0e1", "c.jpg,Crab,049", "d.jpg,Crab,60", "e.jpg,Crab,+07"]
    world, run_id, _ = run(csv_file(*rows), 4 * 1024 * 1024)
    listed = {int(r[0]): r for r in rejected_rows(world, run_id)}
    assert (listed[2][1], listed[2][4]) == (
        "confidence 10.50 is below the minimum confidence (counted, not reviewed)",
        "10.50",
    )
    assert listed[3][4] == "4.0e1" and "confidence 4.0e1 is below" in listed[3][1]
    assert listed[4][4] == "049"
    assert listed[6][4] == "'+07"  # as written, neutralised as a spreadsheet formula start


def test_a_later_copy_below_the_minimum_shows_its_own_confidence_as_written() -> None:
    world, run_id, _ = run(csv_file("a.jpg,Crab,90", *FILLER, "a.jpg,Crab,10.50"), 40)
    (row,) = [r for r in rejected_rows(world, run_id) if r[0] == "9"]
    assert row == ["9", "duplicate of line 2 (same image and label); the first one is kept", "a.jpg", "Crab", "10.50"]


def test_a_later_accepted_copy_in_another_chunk_shows_its_confidence_as_written() -> None:
    world, run_id, _ = run(csv_file("a.jpg,Crab,10", *FILLER, "a.jpg,Crab,99"), 40)
    (row,) = [r for r in rejected_rows(world, run_id) if r[0] == "9"]
    assert row[4] == "99"


def test_no_raw_control_byte_reaches_rejected_csv() -> None:
    rows = [
        "ok.jpg,Crab,90",
        "a.jpg,Cr\x00ab,90",  # NUL in a label
        "b\x01.jpg,Crab,90",  # a control byte in an image name
        "c.jpg,Crab,9\x7f",  # DEL in a confidence
        "d.jpg,\uff1dHYPERLINK(),90",  # a full-width formula start that is otherwise a fine label
        "e.jpg,=cmd,10",  # below the minimum, with a formula start
        "f.jpg,Crab,1\x0b0",  # a vertical tab in a below-minimum row's confidence
    ]
    world, run_id, out = run(csv_file(*rows), 40)
    text = world.store.text(keys.rejected_key(run_id))
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text), repr(text)
    listed = {int(r[0]): r for r in rejected_rows(world, run_id)}
    assert "Cr\\x00ab" in listed[3][3]
    assert "b\\x01.jpg" in listed[4][2]
    assert listed[5][4] == "9\\x7f"
    assert listed[7][3] == "'=cmd"
    counts = out["rows"]
    assert counts["accepted"] + counts["rejected"] + counts["below_min_confidence"] == counts["total"] == len(rows)


def test_rejected_rows_are_written_through_visible_then_csv_safe() -> None:
    """A value whose first character is a control byte is shown escaped, then neutralised if that starts a formula."""
    from bulkqa.steps import batch_step

    out = io.StringIO()
    batch_step._write_rejected(out, [RejectedRow(2, "label is bad", "\x00a.jpg", "\tCrab", "-1")])
    assert out.getvalue().splitlines()[1] == "2,label is bad,\\x00a.jpg,\\x09Crab,'-1"
