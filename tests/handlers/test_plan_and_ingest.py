"""plan_ingest and ingest_labels against the local stack.

Events have the shapes the state machine passes: plan_ingest gets ``{run_id, source}``, each
Distributed Map child of ingest_labels gets ``{run_id, source, ingest, chunk}`` (ItemSelector).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import uuid
from typing import Any

import pytest

from bulkqa import keys
from bulkqa.adapters.dynamodb import from_item
from bulkqa_local.cloud import HandlerError, LocalCloud

HEADER = "image_local_path,label,confidence"


@pytest.fixture(scope="module")
def cloud(cloud: LocalCloud) -> LocalCloud:
    """The shared stack (tests/conftest.py), its uploads not starting the workflow: these tests call the
    functions themselves."""
    cloud.client("s3").put_bucket_notification_configuration(Bucket=cloud.bucket, NotificationConfiguration={})
    return cloud


def invoke(cloud: LocalCloud, logical_id: str, event: dict[str, Any]) -> Any:
    return cloud.invoke(cloud.function_by_logical_id(logical_id).name, event)


def upload(cloud: LocalCloud, data: bytes) -> dict[str, Any]:
    key = f"incoming/{uuid.uuid4().hex[:12]}.csv"
    put = cloud.client("s3").put_object(Bucket=cloud.bucket, Key=key, Body=data)
    return {"bucket": cloud.bucket, "key": key, "version": put["VersionId"], "size": len(data)}


def new_run() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def plan(cloud: LocalCloud, data: bytes, run_id: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Upload and plan; the plan-ingest result and the execution state the Map children see."""
    state = {"run_id": run_id or new_run(), "source": upload(cloud, data)}
    result = invoke(cloud, "PlanIngestFunction", state)
    return result, {**state, "ingest": result}


def read(cloud: LocalCloud, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
    kwargs: dict[str, Any] = {"Bucket": cloud.bucket, "Key": key}
    if byte_range:
        kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
    return bytes(cloud.client("s3").get_object(**kwargs)["Body"].read())


def chunk_list(cloud: LocalCloud, result: dict[str, Any]) -> list[dict[str, int]]:
    return list(json.loads(read(cloud, result["plan_key"])))


def ingest_all(cloud: LocalCloud, state: dict[str, Any]) -> list[dict[str, Any]]:
    """Run ingest_labels for every chunk, as the Distributed Map does; each chunk's stored result."""
    results = []
    for chunk in chunk_list(cloud, state["ingest"]):
        counts = invoke(cloud, "IngestLabelsFunction", {**state, "chunk": chunk})
        stored = json.loads(read(cloud, keys.chunk_result_key(state["run_id"], chunk["chunk"])))
        assert counts == {"chunk": chunk["chunk"], "rows": stored["rows"], **stored["counts"]}
        results.append(stored)
    return results


def run_items(cloud: LocalCloud, run_id: str) -> dict[str, dict[str, Any]]:
    ddb = cloud.client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    for partition in keys.partitions(run_id):
        response = ddb.query(
            TableName=cloud.table("LabelsTable"),
            KeyConditionExpression="run_partition = :p",
            ExpressionAttributeValues={":p": {"S": partition}},
        )
        for raw in response["Items"]:
            item = from_item(raw)
            items[str(item["image"])] = item
    return items


def csv_bytes(rows: list[list[str]], end: str = "\n") -> bytes:
    """A CSV file; fields with a comma, quote, CR or LF quoted (csv.writer leaves a lone CR unquoted)."""

    def field(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value

    lines = [HEADER, *(",".join(field(v) for v in row) for row in rows)]
    return "".join(line + end for line in lines).encode("utf-8")


# --- plan_ingest -----------------------------------------------------------------------------------


def test_bom_and_crlf(cloud: LocalCloud) -> None:
    first = "\ufeffImage_Local_Path,Label,Confidence\r\n"
    data = (
        first + 'beaver/image_0003.jpg,Beaver,97.74715424\r\n"crab/image 1.jpg","Crab, king",88\r\n'
        "crab/image_0002.jpg,Crab,50\r\n"
    ).encode("utf-8")
    result, state = plan(cloud, data)
    data_start = len(first.encode("utf-8"))
    assert result["chunks"] == 1
    assert result["records"] == 3
    assert result["scale"] == "percent"
    assert result["plan_key"] == keys.plan_key(state["run_id"])
    assert result["header"] == {
        "columns": ["image_local_path", "label", "confidence"],
        "image_column": "image_local_path",
        "image_index": 0,
        "label_index": 1,
        "confidence_index": 2,
        "data_start": data_start,
    }
    assert chunk_list(cloud, result) == [{"chunk": 0, "start": data_start, "end": len(data), "first_line": 2}]

    (stored,) = ingest_all(cloud, state)

    assert stored["counts"] == {"accepted": 3, "rejected": 0, "below_min_confidence": 0}
    items = run_items(cloud, state["run_id"])
    assert sorted(items) == ["beaver/image_0003.jpg", "crab/image 1.jpg", "crab/image_0002.jpg"]
    beaver = items["beaver/image_0003.jpg"]
    assert beaver["label"] == "Beaver"  # no BOM, no CR
    assert beaver["confidence"] == pytest.approx(97.74715424)
    assert beaver["line"] == 2
    assert beaver["s3_image_url"] == f"s3://{cloud.bucket}/beaver/image_0003.jpg"
    assert beaver["item_id"] == keys.item_id(beaver["s3_image_url"], "Beaver")
    assert beaver["run_partition"] == keys.partition(state["run_id"], beaver["item_id"])
    assert items["crab/image 1.jpg"]["label"] == "Crab, king"


def test_a_fraction_file_is_planned_as_fraction(cloud: LocalCloud) -> None:
    result, state = plan(cloud, csv_bytes([["a.jpg", "Crab", "0.91"], ["b.jpg", "Crab", "1"]]))
    assert result["scale"] == "fraction"
    ingest_all(cloud, state)
    assert run_items(cloud, state["run_id"])["a.jpg"]["confidence"] == pytest.approx(91.0)


@pytest.mark.parametrize(
    "data",
    [HEADER.encode() + b"\n", HEADER.encode(), b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n"],
    ids=["lf", "no-line-end", "bom-crlf"],
)
def test_header_only_is_an_invalid_label_file(cloud: LocalCloud, data: bytes) -> None:
    with pytest.raises(HandlerError) as error:
        plan(cloud, data)
    assert error.value.error_type == "InvalidLabelFile", error.value
    assert "no data rows" in error.value.message


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("image_local_path,label", "confidence"),
        ("image_local_path,confidence", "label"),
        ("label,confidence", "image_local_path (or s3_image_url)"),
        ("image,label,conf", "image_local_path (or s3_image_url), confidence"),
    ],
)
def test_a_missing_column_is_named(cloud: LocalCloud, header: str, missing: str) -> None:
    with pytest.raises(HandlerError) as error:
        plan(cloud, f"{header}\nx.jpg,Crab,99\n".encode())
    assert error.value.error_type == "InvalidLabelFile"
    assert f"missing the column(s) {missing};" in error.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfei\x00m\x00a\x00g\x00e\x00", "UTF-16"),
        (HEADER.encode() + b'\na.jpg,Crab,99\nb.jpg,"Crab,98\nc.jpg,Crab,97\n', "line 3 opens a quoted field"),
    ],
)
def test_files_that_are_not_label_csvs(cloud: LocalCloud, data: bytes, message: str) -> None:
    with pytest.raises(HandlerError) as error:
        plan(cloud, data)
    assert error.value.error_type == "InvalidLabelFile"
    assert message in error.value.message


def test_a_vanished_upload_is_an_invalid_label_file(cloud: LocalCloud) -> None:
    source = {"bucket": cloud.bucket, "key": "incoming/never-uploaded.csv", "version": "", "size": 10}
    with pytest.raises(HandlerError) as error:
        invoke(cloud, "PlanIngestFunction", {"run_id": new_run(), "source": source})
    assert error.value.error_type == "InvalidLabelFile"
    assert "upload the file again" in error.value.message


def test_plan_ingest_needs_a_run_id(cloud: LocalCloud) -> None:
    with pytest.raises(HandlerError) as error:
        invoke(cloud, "PlanIngestFunction", {"source": upload(cloud, csv_bytes([["a.jpg", "Crab", "99"]]))})
    assert error.value.error_type == "InvalidEvent"


# --- chunking --------------------------------------------------------------------------------------


LABELS = ["Crab", "Sea\nTurtle", 'Crab, "king"', "Cray\r\nfish", "Lob\rster"]


def tricky_rows(count: int) -> list[list[str]]:
    """Rows with quoted commas, quotes and line breaks inside labels, and some rows to reject."""
    rows = []
    for n in range(count):
        confidence = "high" if n % 17 == 5 else f"{80 + n % 20}.5"
        image = f"../up/{n}.jpg" if n % 23 == 7 else f"images/{n:04d}.jpg"
        rows.append([image, LABELS[n % 5], confidence])
    return rows


def expected_rejection(n: int) -> str | None:
    if n % 23 == 7:
        return "'..'"
    # a line break inside a quoted label was kept before #17 (stored as LF); the one label policy refuses it
    # now, naming the code point, and the planner still keeps such a record whole whatever the chunk size
    if n % 5 == 1:
        return "label contains U+000A"
    if n % 5 in (3, 4):  # CRLF and CR: the CR comes first
        return "label contains U+000D"
    if n % 17 == 5:
        return "'high' is not a number"
    return None


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_small_chunks_respect_quoted_line_breaks(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, end: str) -> None:
    for logical in ("PlanIngestFunction", "IngestLabelsFunction"):
        monkeypatch.setitem(cloud.function_by_logical_id(logical).environment, "INGEST_CHUNK_BYTES", "1024")
    rows = tricky_rows(300)
    data = csv_bytes(rows, end)
    result, state = plan(cloud, data)

    chunks = chunk_list(cloud, result)
    assert result["records"] == len(rows)
    assert result["chunks"] == len(chunks) >= len(data) // 1024 - 1
    assert chunks[0]["start"] == result["header"]["data_start"]
    assert chunks[-1]["end"] == len(data)
    parsed: list[list[str]] = []
    for before, after in itertools.pairwise(chunks):
        assert before["end"] == after["start"]
    for chunk in chunks:
        assert chunk["first_line"] == len(parsed) + 2
        alone = list(
            csv.reader(
                io.StringIO(
                    read(cloud, state["source"]["key"], (chunk["start"], chunk["end"])).decode("utf-8"), newline=""
                )
            )
        )
        parsed.extend(alone)
    assert parsed == rows

    stored = ingest_all(cloud, state)

    expected = {n + 2: expected_rejection(n) for n in range(len(rows)) if expected_rejection(n)}
    rejected = {row[0]: row[1] for result in stored for row in result["rejected"]}
    assert sorted(rejected) == sorted(expected)  # record numbers, whichever chunk they fell in
    for line, reason in expected.items():
        assert reason is not None and reason in rejected[line], line
    accepted = [row for result in stored for row in result["accepted"]]
    assert len(accepted) == len(rows) - len(expected)
    items = run_items(cloud, state["run_id"])
    assert len(items) == len(accepted)
    assert "images/0001.jpg" not in items
    assert items["images/0002.jpg"]["label"] == 'Crab, "king"'
    assert items["images/0295.jpg"]["line"] == 297


def test_an_invalid_chunk_size_is_a_settings_error(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cloud.function_by_logical_id("PlanIngestFunction").environment, "INGEST_CHUNK_BYTES", "12")
    with pytest.raises(HandlerError) as error:
        plan(cloud, csv_bytes([["a.jpg", "Crab", "99"]]))
    assert error.value.error_type == "SettingsError"
    assert "INGEST_CHUNK_BYTES=12 is outside" in error.value.message


# --- ingest_labels ---------------------------------------------------------------------------------


def test_rejections_carry_their_line_numbers(cloud: LocalCloud) -> None:
    data = (
        f"{HEADER}\n"
        "beaver/1.jpg,Beaver,97\n"  # 2
        '"beaver/2.jpg","Beaver\nwith a break",96\n'  # 3 (two physical lines): a line break in a label
        "\n"  # 4 blank
        "beaver/3.jpg,,95\n"  # 5 empty label
        "/etc/passwd,Beaver,94\n"  # 6 absolute path
        "beaver/1.jpg,Beaver,93\n"  # 7 duplicate of 2
        "beaver/4.jpg,Beaver,101\n"  # 8 above 100
        "beaver/5.jpg,Beaver\n"  # 9 too few fields
        "s3://elsewhere/6.jpg,Beaver,90\n"  # 10 foreign bucket
        "beaver/7.jpg,Beaver,0.5\n"  # 11 0-1 scale in a 0-100 file
        "beaver/8.jpg,Beaver,89,surplus\n"  # 12 too many fields
    ).encode()
    _, state = plan(cloud, data)
    (stored,) = ingest_all(cloud, state)
    got = {row[0]: row[1] for row in stored["rejected"]}
    assert sorted(got) == [3, 5, 6, 7, 8, 9, 10, 11, 12]
    assert got[3] == "label contains U+000A (a control character) at character 7; remove it"
    assert got[5] == "label is empty"
    assert "absolute path" in got[6]
    assert got[7] == "duplicate of line 2 (same image and label); the first one is kept"
    assert "above 100" in got[8]
    assert got[9] == "the line has 2 fields but the header has 3"
    assert "'elsewhere'" in got[10]
    assert "0–1 scale" in got[11]
    assert "quote fields that contain commas" in got[12]
    assert [row[0] for row in stored["accepted"]] == [2]
    assert (stored["rows"], stored["blank"]) == (10, 1)
    assert sorted(run_items(cloud, state["run_id"])) == ["beaver/1.jpg"]


def test_rows_below_the_minimum_confidence_are_counted_not_stored(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cloud.function_by_logical_id("IngestLabelsFunction").environment, "MIN_CONFIDENCE", "90")
    _, state = plan(cloud, csv_bytes([["a.jpg", "Crab", "89.9"], ["b.jpg", "Crab", "90"], ["c.jpg", "Crab", "50"]]))
    (stored,) = ingest_all(cloud, state)
    assert stored["counts"] == {"accepted": 1, "rejected": 0, "below_min_confidence": 2}
    assert [row[0] for row in stored["below_min"]] == [2, 4]
    assert sorted(run_items(cloud, state["run_id"])) == ["b.jpg"]


def test_an_image_bucket_parameter_allows_that_bucket(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        cloud.function_by_logical_id("IngestLabelsFunction").environment, "IMAGE_BUCKET_NAME", "caltech-images"
    )
    data = "s3_image_url,label,confidence\ns3://caltech-images/crab/1.jpg,Crab,99\ns3://other/2.jpg,Crab,98\n"
    _, state = plan(cloud, data.encode())
    (stored,) = ingest_all(cloud, state)
    assert [row[2] for row in stored["accepted"]] == ["s3://caltech-images/crab/1.jpg"]
    assert [row[0] for row in stored["rejected"]] == [3]


def test_running_a_chunk_twice_gives_the_same_items(cloud: LocalCloud) -> None:
    _, state = plan(cloud, csv_bytes([[f"{n}.jpg", "Crab", "99"] for n in range(60)]))
    ingest_all(cloud, state)
    first = run_items(cloud, state["run_id"])
    ingest_all(cloud, state)  # a Map child retried after a timeout
    assert run_items(cloud, state["run_id"]) == first
    assert len(first) == 60


@pytest.mark.parametrize("drop", ["chunk", "ingest", "run_id"])
def test_ingest_labels_needs_the_map_items_fields(cloud: LocalCloud, drop: str) -> None:
    _, state = plan(cloud, csv_bytes([["a.jpg", "Crab", "99"]]))
    event = {**state, "chunk": chunk_list(cloud, state["ingest"])[0]}
    del event[drop]
    with pytest.raises(HandlerError) as error:
        invoke(cloud, "IngestLabelsFunction", event)
    assert error.value.error_type == "InvalidEvent"


# --- make_batches ----------------------------------------------------------------------------------


def test_make_batches_streams_many_chunks_with_duplicates_across_them(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks, read-ahead and PUT rounds, so every streaming path of make_batches runs."""
    from bulkqa.steps import batch_step

    monkeypatch.setattr(batch_step, "READ_AHEAD", 2)
    monkeypatch.setattr(batch_step, "PUT_ROUND", 3)
    for logical in ("PlanIngestFunction", "IngestLabelsFunction"):
        monkeypatch.setitem(cloud.function_by_logical_id(logical).environment, "INGEST_CHUNK_BYTES", "1024")
    monkeypatch.setitem(cloud.function_by_logical_id("IngestLabelsFunction").environment, "MIN_CONFIDENCE", "50")
    monkeypatch.setitem(cloud.function_by_logical_id("MakeBatchesFunction").environment, "BATCH_SIZE", "4")
    labels = ["Crab", 'Lobster, "king"', "=Sea Turtle"]
    rows: list[list[str]] = []
    for n in range(240):
        if n >= 200 and n % 4 == 0:  # repeats an early row: lands in a later chunk than the first
            rows.append(list(rows[n - 200]))
        elif n % 23 == 7:
            rows.append([f"images/{n:04d}.jpg", "", "90"])  # rejected in its chunk: empty label
        else:
            rows.append([f"images/{n:04d}.jpg", labels[n % 3], "30" if n % 11 == 3 else f"{60 + n % 40}"])
    result, state = plan(cloud, csv_bytes(rows))
    assert result["chunks"] >= 8
    ingest_all(cloud, state)

    out = invoke(cloud, "MakeBatchesFunction", {"run_id": state["run_id"], "ingest": {"chunks": result["chunks"]}})

    # what the file says, computed here from the rows: the first copy in file order decides (#17), even
    # when it is below the minimum confidence and its later copy is in another chunk
    first: dict[tuple[str, str], int] = {}
    accepted: list[tuple[int, list[str]]] = []
    not_accepted: dict[int, str] = {}
    for n, (image, label, confidence) in enumerate(rows):
        line = n + 2
        if not label:
            not_accepted[line] = "label is empty"
        elif (image, label) in first:
            kept = first[image, label]
            not_accepted[line] = f"duplicate of line {kept} (same image and label); the first one is kept"
        elif float(confidence) < 50:
            first[image, label] = line
            not_accepted[line] = "below the minimum confidence"
        else:
            first[image, label] = line
            accepted.append((line, [image, label, confidence]))
    assert out["images"] == len(accepted)
    assert out["rows"]["rejected"] + out["rows"]["below_min_confidence"] == len(not_accepted)
    assert any("duplicate" in reason for reason in not_accepted.values())

    rejected = list(csv.reader(io.StringIO(read(cloud, keys.rejected_key(state["run_id"])).decode("utf-8"))))
    assert rejected[0] == ["line", "reason", "image", "label", "confidence"]
    assert [int(r[0]) for r in rejected[1:]] == sorted(not_accepted)
    for row in rejected[1:]:
        assert not_accepted[int(row[0])] in row[1]
        assert not row[3].startswith("=")  # spreadsheet-safe

    expected_batches = []
    for label in sorted(labels):
        mine = [r for r in accepted if r[1][1] == label]
        expected_batches += [(label, [line for line, _ in mine[i : i + 4]]) for i in range(0, len(mine), 4)]
    (job,) = out["jobs"]
    manifest = [json.loads(line) for line in read(cloud, keys.manifest_key(state["run_id"], 0)).decode().splitlines()]
    assert job["tasks"] == len(manifest) == out["tasks"] == len(expected_batches)
    got = []
    for entry in manifest:
        document = json.loads(read(cloud, entry["source-ref"].split("/", 3)[3]))
        assert document["label"] == entry["label"] and len(document["items"]) == entry["image-count"]
        got.append((document["label"], [item["line"] for item in document["items"]]))
    assert got == expected_batches

    # an item a later duplicate overwrote is written again from the row that is kept
    items = run_items(cloud, state["run_id"])
    for line, (image, _, confidence) in accepted:
        assert (items[image]["line"], items[image]["confidence"]) == (line, float(confidence))
