"""Every JSON Lines text the stack writes keeps one record on one physical line, whatever the data holds.

``json.dumps(..., ensure_ascii=False)`` leaves U+2028, U+2029 and U+0085 raw, and ``str.splitlines()``
(and many JSON Lines readers) break a line on them: one such label split a manifest line and failed a
whole labeling job (#17). The writers go through ``bulkqa.jsonl.dumps_line``; readers split on ``\\n``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bulkqa import batching, jsonl, keys, log
from bulkqa.rows import AcceptedRow

BREAKERS = ["\u2028", "\u2029", "\u0085"]


def one_physical_line(text: str) -> None:
    assert "\n" not in text
    assert len(text.splitlines()) == 1, text  # what the local Ground Truth used to split on
    assert len(io.StringIO(text).readlines()) == 1


@pytest.mark.parametrize("breaker", BREAKERS)
def test_a_manifest_line_is_one_line_whatever_the_label(breaker: str) -> None:
    label = f"Sea{breaker}Turtle{breaker}"
    uri = f"s3://bkt/images/a{breaker}b.jpg"
    row = AcceptedRow(2, keys.item_id(uri, label), uri, f"images/a{breaker}b.jpg", label, 99.0)
    line = batching.Batch(0, label, [row]).manifest_line("run-1", "bkt")
    one_physical_line(line)
    assert json.loads(line)["label"] == label
    assert [json.loads(text)["label"] for text in jsonl.split_lines(line + "\n" + line + "\n")] == [label, label]


@pytest.mark.parametrize("breaker", BREAKERS)
def test_a_log_record_is_one_line_whatever_its_fields(breaker: str, capsys: pytest.CaptureFixture[str]) -> None:
    log.info(f"label {breaker}", label=f"Crab{breaker}", path=Path("x"))
    text = capsys.readouterr().out
    assert text.endswith("\n")
    one_physical_line(text[:-1])
    record = json.loads(text)
    assert (record["level"], record["message"], record["label"], record["path"]) == (
        "INFO",
        f"label {breaker}",
        f"Crab{breaker}",
        "x",
    )


def test_spill_files_keep_labels_with_line_breakers(tmp_path: Path) -> None:
    planner = batching.SpillPlanner(tmp_path, buckets=2)
    rows = []
    for n, breaker in enumerate(BREAKERS):
        label, uri = f"L{breaker}", f"s3://bkt/i{breaker}{n}.jpg"
        rows.append(AcceptedRow(n + 2, keys.item_id(uri, label), uri, uri[9:], label, 90.0))
        planner.add(rows[-1])
    emitted: list[batching.Batch] = []
    planned = planner.plan(25, emitted.append)
    assert planned.images == 3 and not planned.duplicates
    assert sorted(row for batch in emitted for row in batch.items) == rows
    for path in tmp_path.iterdir():
        for text in path.read_text(encoding="utf-8").split("\n"):
            assert len(text.splitlines()) <= 1
