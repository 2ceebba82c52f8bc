"""The ingest steps (register_run, plan_ingest, ingest_chunk, make_batches) on in-memory fakes.

The same steps run on moto in tests/handlers (the wiring: handlers, settings, adapters); here each
step's own behaviour is checked through ``tests/support/fakes.py``, in a fraction of the time.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from typing import Any

import pytest

from bulkqa import keys, steps
from bulkqa.errors import InvalidEvent, InvalidLabelFile, NoRowsAccepted
from bulkqa.rows import AcceptedRow
from tests.support.fakes import FakeStack

HEADER = "image_local_path,label,confidence\n"


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode("utf-8")


SMALL = csv_file("crab/1.jpg,Crab,99", "crab/2.jpg,Crab,80", "dog/1.jpg,Dog,95.5")


# --- register_run ------------------------------------------------------------------------------------


def test_a_new_upload_registers_a_run() -> None:
    world = FakeStack()
    result = world.register(SMALL)
    assert result["duplicate"] is False
    assert result["source"] == {"bucket": "bkt", "key": "incoming/labels.csv", "version": "v1", "size": len(SMALL)}
    assert result["run_id"].startswith("labels-")
    record = world.runs.records[f"run#{result['run_id']}"]
    assert record["status"] == "registered"
    assert record["source"] == result["source"]


def test_the_same_object_version_twice_is_a_duplicate() -> None:
    world = FakeStack()
    event = world.upload_event(SMALL)
    first = steps.register_run(event, world.stack, world.runs)
    second = steps.register_run(event, world.stack, world.runs)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["run_id"] == second["run_id"]
    assert len(world.runs.records) == 1


def test_a_new_version_is_a_new_run() -> None:
    world = FakeStack()
    assert world.register(SMALL, version="v1")["run_id"] != world.register(SMALL, version="v2")["run_id"]


def _change(event: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    target: Any = event
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return event


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("source",), "aws.sagemaker", "S3 'Object Created'"),
        (("detail", "object"), "not a mapping", "S3 'Object Created'"),
        (("detail", "object", "key"), "elsewhere/labels.csv", "not a .csv file under incoming/"),
        (("detail", "object", "key"), "incoming/labels.xlsx", "not a .csv file"),
        (("detail", "bucket", "name"), "another-bucket", "not the stack's bucket"),
    ],
)
def test_events_that_are_not_an_upload_of_a_csv_are_invalid(path: tuple[str, ...], value: object, message: str) -> None:
    world = FakeStack()
    event = _change(world.upload_event(SMALL), path, value)
    with pytest.raises(InvalidEvent, match=message):
        steps.register_run(event, world.stack, world.runs)
    assert world.runs.records == {}


# --- plan_ingest ---------------------------------------------------------------------------------------


def test_the_plan_lists_chunks_that_cover_the_data() -> None:
    world = FakeStack()
    world.ingest_settings = type(world.ingest_settings)(world.stack, 0.0, "", 1024, "auto")
    data = csv_file(*(f"img/{n:04d}.jpg,Crab,{50 + n % 50}" for n in range(200)))
    run, plan = world.plan(data)
    assert plan["plan_key"] == keys.plan_key(run["run_id"])
    assert plan["records"] == 200 and plan["scale"] == "percent"
    assert plan["header"]["image_column"] == "image_local_path"
    chunks = world.store.json(plan["plan_key"])
    assert isinstance(chunks, list) and len(chunks) == plan["chunks"] > 1
    assert chunks[0]["start"] == len(HEADER) and chunks[-1]["end"] == len(data)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(chunks))
    assert chunks[0]["first_line"] == 2


def test_a_fraction_file_is_planned_as_fraction() -> None:
    assert FakeStack().plan(csv_file("a.jpg,Crab,0.91", "b.jpg,Crab,1"))[1]["scale"] == "fraction"


def test_the_scale_is_decided_from_the_first_records_even_after_a_300_kb_first_row() -> None:
    long_label = "x" * 300_000  # rejected later (too long), but its confidence is sampled like any other
    rows = [f"a.jpg,{long_label},0.91", *(f"img/{n}.jpg,Crab,0.{n % 9 + 1}" for n in range(2000))]
    data = csv_file(*rows)
    assert len(rows[0]) > steps.HEAD_BYTES  # the head holds no complete record
    assert FakeStack().plan(data)[1]["scale"] == "fraction"
    # the 1,001st record and later are not sampled: a 0-100 value there does not change the scale
    assert FakeStack().plan(csv_file(*rows[:1000], "z.jpg,Crab,95"))[1]["scale"] == "fraction"
    assert FakeStack().plan(csv_file(*rows[:999], "z.jpg,Crab,95"))[1]["scale"] == "percent"


def test_the_version_of_the_event_is_read() -> None:
    world = FakeStack()
    event = world.upload_event(SMALL, version="v1")
    world.store.objects["incoming/labels.csv"] = b"not,the,file\n"  # a newer upload of the same key
    run = steps.register_run(event, world.stack, world.runs)
    assert steps.plan_ingest(run, world.ingest_settings, world.store)["records"] == 3


@pytest.mark.parametrize("data", [HEADER.encode(), b"", b"PK\x03\x04zip"])
def test_a_file_without_rows_is_an_invalid_label_file(data: bytes) -> None:
    with pytest.raises(InvalidLabelFile):
        FakeStack().plan(data)


def test_a_vanished_upload_is_an_invalid_label_file() -> None:
    world = FakeStack()
    run = world.register(SMALL)
    del world.store.versions["incoming/labels.csv", "v1"]
    with pytest.raises(InvalidLabelFile, match="upload the file again"):
        steps.plan_ingest(run, world.ingest_settings, world.store)


def test_plan_ingest_needs_a_run_id() -> None:
    world = FakeStack()
    run = world.register(SMALL)
    with pytest.raises(InvalidEvent, match="run_id"):
        steps.plan_ingest({"source": run["source"]}, world.ingest_settings, world.store)


# --- ingest_chunk --------------------------------------------------------------------------------------


def test_a_chunk_stores_accepted_items_and_its_result() -> None:
    world = FakeStack()
    data = csv_file("crab/1.jpg,Crab,99", "../x.jpg,Crab,97", "", "crab/2.jpg,Crab,99.25")
    run, _, (summary,) = world.ingest(data)
    run_id = run["run_id"]
    assert summary == {"chunk": 0, "rows": 3, "accepted": 2, "rejected": 1, "below_min_confidence": 0}
    items = world.labels.of_run(run_id)
    assert sorted((i["image"], i["confidence"], i["line"]) for i in items) == [
        ("crab/1.jpg", 99.0, 2),
        ("crab/2.jpg", 99.25, 5),
    ]
    assert world.labels.write_requests == 1
    saved = world.store.json(keys.chunk_result_key(run_id, 0))
    assert isinstance(saved, dict)
    assert (saved["rows"], saved["blank"], saved["counts"]["rejected"]) == (3, 1, 1)
    assert saved["accepted"][0][:2] == [2, keys.item_id("s3://bkt/crab/1.jpg", "Crab")]
    assert saved["rejected"][0][:3] == [3, saved["rejected"][0][1], "../x.jpg"]
    # the file is compact JSON, rows as arrays (the format make_batches reads)
    assert world.store.objects[keys.chunk_result_key(run_id, 0)].startswith(b'{"chunk":0,"first_line":2,')


def test_items_are_written_in_requests_of_25() -> None:
    world = FakeStack()
    world.ingest(csv_file(*(f"img/{n}.jpg,Crab,90" for n in range(60))))
    assert world.labels.write_requests == 3


def test_running_a_chunk_twice_gives_the_same_items() -> None:
    world = FakeStack()
    run, plan, _ = world.ingest(SMALL)
    first = world.labels.of_run(run["run_id"])
    chunk = json.loads(world.store.objects[plan["plan_key"]])[0]
    steps.ingest_chunk({**run, "ingest": plan, "chunk": chunk}, world.ingest_settings, world.store, world.labels)
    assert world.labels.of_run(run["run_id"]) == first


@pytest.mark.parametrize("drop", ["chunk", "ingest", "run_id"])
def test_ingest_chunk_needs_the_map_items_fields(drop: str) -> None:
    world = FakeStack()
    run, plan = world.plan(SMALL)
    event: dict[str, object] = {**run, "ingest": plan, "chunk": json.loads(world.store.objects[plan["plan_key"]])[0]}
    del event[drop]
    with pytest.raises(InvalidEvent):
        steps.ingest_chunk(event, world.ingest_settings, world.store, world.labels)


# --- make_batches -------------------------------------------------------------------------------------------


def test_batches_and_one_manifest_per_job() -> None:
    world = FakeStack(batch_size=2, max_objects_per_job=2)
    rows = [f"crab/{n}.jpg,Crab,{90 + n}" for n in range(5)] + ["dog/1.jpg,Dog,99"]
    run_id, out = world.batches(csv_file(*rows))
    # Crab: 3 batches of 2, 2, 1; Dog: 1 batch; 4 tasks -> 2 jobs of at most 2 tasks
    assert (out["tasks"], out["images"], out["check_seconds"]) == (4, 6, 3600)
    assert out["rows"] == {"total": 6, "accepted": 6, "rejected": 0, "below_min_confidence": 0, "blank_lines": 0}
    assert [(job["part"], job["tasks"]) for job in out["jobs"]] == [(0, 2), (1, 2)]
    assert out["jobs"][1] == {
        "run_id": run_id,
        "part": 1,
        "tasks": 2,
        "manifest": f"s3://bkt/{keys.manifest_key(run_id, 1)}",
    }
    lines = [
        json.loads(line)
        for part in (0, 1)
        for line in world.store.text(keys.manifest_key(run_id, part)).split("\n")
        if line
    ]
    assert [(line["label"], line["image-count"]) for line in lines] == [
        ("Crab", 2),
        ("Crab", 2),
        ("Crab", 1),
        ("Dog", 1),
    ]
    first = world.store.json(lines[0]["source-ref"].split("/", 3)[3])
    assert isinstance(first, dict)
    assert first["version"] == 1 and first["seq"] == 0 and first["label"] == "Crab"
    assert [item["line"] for item in first["items"]] == [2, 3]
    assert set(first["items"][0]) == {"id", "image", "s3_uri", "confidence", "line"}
    summary = world.store.json(keys.ingest_summary_key(run_id))
    assert summary == {
        "run_id": run_id,
        "rows": out["rows"],
        "rejected_key": keys.rejected_key(run_id),
        "tasks": 4,
        "jobs": 2,
        "labels": 2,
    }
    assert world.runs.records[f"run#{run_id}"]["status"] == "batched"


def test_rejected_csv_lists_every_row_not_accepted_in_line_order() -> None:
    world = FakeStack()
    world.ingest_settings = type(world.ingest_settings)(world.stack, 50.0, "", 1024, "auto")
    rows = [f"img/{n:03d}.jpg,{'=Crab' if n % 2 else 'Dog'},{90 if n % 7 else 10}" for n in range(80)]
    rows[30] = "img/900.jpg,Dog,10"  # below the minimum: counted, listed, not reviewed
    rows[70] = "img/002.jpg,Dog,95"  # a duplicate of line 4 (a row of an earlier chunk)
    rows[71] = "img/003.jpg,,95"  # rejected: empty label
    run_id, out = world.batches(csv_file(*rows))
    rejected = list(csv.reader(io.StringIO(world.store.text(keys.rejected_key(run_id)))))
    assert rejected[0] == ["line", "reason", "image", "label", "confidence"]
    lines = [int(row[0]) for row in rejected[1:]]
    assert lines == sorted(lines)
    reasons = {int(row[0]): row[1] for row in rejected[1:]}
    assert reasons[72] == "duplicate of line 4 (same image and label); the first one is kept"
    assert reasons[73] == "label is empty"
    assert "below the minimum confidence" in reasons[32]
    assert out["rows"]["rejected"] == 2
    assert out["rows"]["below_min_confidence"] == len(rejected) - 1 - 2
    assert all(not row[3].startswith("=") for row in rejected[1:])  # spreadsheet-safe
    assert world.store.content_types[keys.rejected_key(run_id)] == "text/csv; charset=utf-8"


def test_an_item_a_later_duplicate_overwrote_is_written_again() -> None:
    world = FakeStack()
    world.ingest_settings = type(world.ingest_settings)(world.stack, 0.0, "", 1024, "auto")
    rows = [f"img/{n:03d}.jpg,Crab,{50 + n % 40}" for n in range(80)]
    rows[75] = "img/001.jpg,Crab,11"  # same image and label as line 3, in a later chunk
    run_id, _ = world.batches(csv_file(*rows))
    item = world.labels.item(run_id, keys.item_id("s3://bkt/img/001.jpg", "Crab"))
    assert (item["line"], item["confidence"]) == (3, 51.0)


def test_no_accepted_row_raises_no_rows_accepted() -> None:
    world = FakeStack()
    with pytest.raises(NoRowsAccepted, match=r"rejected\.csv"):
        world.batches(csv_file("../a.jpg,Crab,90", "b.jpg,,90"))
    (run_id,) = [pk.split("#", 1)[1] for pk in world.runs.records]
    assert world.runs.records[f"run#{run_id}"]["status"] == "no rows accepted"
    summary = world.store.json(keys.ingest_summary_key(run_id))
    assert isinstance(summary, dict) and summary["rows"]["rejected"] == 2 and "tasks" not in summary
    assert world.store.text(keys.rejected_key(run_id)).count("\n") == 3


def test_make_batches_checks_the_number_of_chunk_results() -> None:
    world = FakeStack()
    run, _plan, _ = world.ingest(SMALL)
    with pytest.raises(InvalidEvent, match="expected 2 chunk results"):
        steps.make_batches(
            {"run_id": run["run_id"], "ingest": {"chunks": 2}},
            world.batch_settings,
            world.store,
            world.labels,
            world.runs,
        )


def test_batch_documents_carry_the_accepted_rows() -> None:
    world = FakeStack()
    run_id, _ = world.batches(SMALL)
    (crab_key, _dog_key) = world.store.keys(f"runs/{run_id}/batches/")
    crab = world.store.json(crab_key)
    assert isinstance(crab, dict)
    rows = [
        AcceptedRow(i["line"], i["id"], i["s3_uri"], i["image"], crab["label"], i["confidence"]) for i in crab["items"]
    ]
    assert rows == [
        AcceptedRow(2, keys.item_id("s3://bkt/crab/1.jpg", "Crab"), "s3://bkt/crab/1.jpg", "crab/1.jpg", "Crab", 99.0),
        AcceptedRow(3, keys.item_id("s3://bkt/crab/2.jpg", "Crab"), "s3://bkt/crab/2.jpg", "crab/2.jpg", "Crab", 80.0),
    ]
    assert crab_key == keys.batch_key(run_id, 0, keys.batch_digest([row.item_id for row in rows]))
