"""bulkqa.ingest: which image references and confidences are accepted, and validating a chunk's rows."""

from __future__ import annotations

import json

import pytest

from bulkqa import csvfile, ingest, keys
from bulkqa.rows import AcceptedRow, RejectedRow

BUCKET = "bulk-label-qa-labelsbucket-example"
IMAGES = "caltech-images"
RULES = ingest.Rules(BUCKET, IMAGES, 0.0, "percent")
HEADER = b"image_local_path,label,confidence\n"


def validate(
    body: bytes,
    *,
    rules: ingest.Rules = RULES,
    header: bytes = HEADER,
    first_line: int = 2,
    chunk: int = 0,
    min_confidence: float | None = None,
) -> ingest.ChunkResult:
    if min_confidence is not None:
        rules = ingest.Rules(rules.bucket, rules.image_bucket, min_confidence, rules.scale)
    parsed = csvfile.read_header(header)
    return ingest.validate_chunk(body, chunk, first_line, parsed, rules)


def reasons(result: ingest.ChunkResult) -> dict[int, str]:
    return {row.line: row.reason for row in result.rejected}


# --- image references --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "column", "uri"),
    [
        ("crab/image_0001.jpg", "image_local_path", f"s3://{BUCKET}/crab/image_0001.jpg"),
        ("./crab/image_0001.jpg", "image_local_path", f"s3://{BUCKET}/crab/image_0001.jpg"),
        ("Sea Turtles/ü 1.jpg", "image_local_path", f"s3://{BUCKET}/Sea Turtles/ü 1.jpg"),
        ("a..b/c.jpg", "image_local_path", f"s3://{BUCKET}/a..b/c.jpg"),  # '..' inside a name is fine
        (f"s3://{BUCKET}/crab/image_0001.jpg", "s3_image_url", f"s3://{BUCKET}/crab/image_0001.jpg"),
        (f"s3://{IMAGES}/crab/image_0001.jpg", "s3_image_url", f"s3://{IMAGES}/crab/image_0001.jpg"),
        (f"s3://{IMAGES}/crab/image_0001.jpg", "image_local_path", f"s3://{IMAGES}/crab/image_0001.jpg"),
    ],
)
def test_image_uri_accepts(value: str, column: str, uri: str) -> None:
    assert ingest.image_uri(value, column, RULES) == uri


@pytest.mark.parametrize(
    ("value", "column", "reason"),
    [
        ("", "image_local_path", "image_local_path is empty"),
        ("x" * 1025, "image_local_path", "1025 characters long"),
        ("crab/\x00.jpg", "image_local_path", "control characters"),
        ("../etc/passwd", "image_local_path", "'.' or '..' path segments"),
        ("crab/../../secret.jpg", "image_local_path", "'.' or '..' path segments"),
        ("crab\\..\\secret.jpg", "image_local_path", "'.' or '..' path segments"),
        ("crab/./image.jpg", "image_local_path", "'.' or '..' path segments"),
        ("/crab/image_0001.jpg", "image_local_path", "is an absolute path"),
        ("\\\\server\\share\\a.jpg", "image_local_path", "is an absolute path"),
        ("C:\\images\\a.jpg", "image_local_path", "is an absolute path"),
        ("c:/images/a.jpg", "image_local_path", "is an absolute path"),
        ("https://example.com/a.jpg", "image_local_path", "is a URL"),
        ("http://169.254.169.254/latest/meta-data", "image_local_path", "is a URL"),
        ("file:///etc/passwd", "image_local_path", "is a URL"),
        ("data:image/png;base64,AAAA", "image_local_path", "is a URL"),
        ("gs://bucket/a.jpg", "s3_image_url", "is a URL"),
        ("crab/image_0001.jpg", "s3_image_url", "is not an s3:// URI"),
        ("s3://someone-elses-bucket/a.jpg", "s3_image_url", "image bucket 'someone-elses-bucket' is not one"),
        ("s3://someone-elses-bucket/a.jpg", "image_local_path", "image bucket 'someone-elses-bucket' is not one"),
        (f"s3://{BUCKET}", "s3_image_url", "not a complete s3://bucket/key URI"),
        (f"s3://{BUCKET}/", "s3_image_url", "not a complete s3://bucket/key URI"),
        (f"s3://{BUCKET}/../x.jpg", "s3_image_url", "'.' or '..' path segments"),
        (f"s3://{BUCKET}/crab/", "s3_image_url", "does not name an object"),
        ("crab/", "image_local_path", "does not name an object"),
        ("./", "image_local_path", "does not name an object"),
    ],
)
def test_image_uri_rejects(value: str, column: str, reason: str) -> None:
    with pytest.raises(ValueError) as error:
        ingest.image_uri(value, column, RULES)
    assert reason in str(error.value)


def test_foreign_bucket_message_names_the_allowed_buckets() -> None:
    with pytest.raises(ValueError) as error:
        ingest.image_uri("s3://other/a.jpg", "s3_image_url", ingest.Rules(BUCKET, "", 0.0, "percent"))
    assert f"(allowed: {BUCKET})" in str(error.value)
    assert "ImageBucketName" in str(error.value)


def test_without_an_image_bucket_only_the_stacks_bucket_is_allowed() -> None:
    rules = ingest.Rules(BUCKET, "", 0.0, "percent")
    with pytest.raises(ValueError, match="is not one the stack may read"):
        ingest.image_uri(f"s3://{IMAGES}/a.jpg", "s3_image_url", rules)
    with pytest.raises(ValueError, match="is not a complete"):  # an empty bucket name never matches ""
        ingest.image_uri("s3:///a.jpg", "s3_image_url", rules)


# --- confidence values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "scale", "value"),
    [
        ("99.29439545", "percent", 99.29439545),
        (" 97 ", "percent", 97.0),
        ("0", "percent", 0.0),
        ("1", "percent", 1.0),
        ("100", "percent", 100.0),
        ("1e2", "percent", 100.0),
        ("0.5", "fraction", 50.0),
        ("1", "fraction", 100.0),
        ("0", "fraction", 0.0),
        ("-0", "percent", 0.0),
    ],
)
def test_confidence_value_accepts(raw: str, scale: str, value: float) -> None:
    assert ingest.confidence_value(raw, scale) == pytest.approx(value)


@pytest.mark.parametrize(
    ("raw", "scale", "reason"),
    [
        ("", "percent", "confidence is empty"),
        ("   ", "percent", "confidence is empty"),
        ("high", "percent", "is not a number"),
        ("97,5", "percent", "is not a number"),
        ("nan", "percent", "not a finite number"),
        ("NaN", "fraction", "not a finite number"),
        ("inf", "percent", "not a finite number"),
        ("-Infinity", "percent", "not a finite number"),
        ("-1", "percent", "is negative"),
        ("-0.1", "fraction", "is negative"),
        ("100.0001", "percent", "is above 100"),
        ("1e3", "percent", "is above 100"),
        ("1.5", "fraction", "is above 1"),
        ("0.97", "percent", "looks like the 0–1 scale"),
    ],
)
def test_confidence_value_rejects(raw: str, scale: str, reason: str) -> None:
    with pytest.raises(ValueError) as error:
        ingest.confidence_value(raw, scale)
    assert reason in str(error.value)


def test_confidence_message_is_clipped() -> None:
    with pytest.raises(ValueError) as error:
        ingest.confidence_value("x" * 500, "percent")
    assert len(str(error.value)) < 100


# --- validate_chunk ----------------------------------------------------------------------------------


def test_accepted_rows_carry_line_item_uri_image_label_and_confidence() -> None:
    result = validate(b"crab/image_0001.jpg,Crab,99.5\ncrab/image_0002.jpg, Crab ,0\n", first_line=7, chunk=3)
    uri = f"s3://{BUCKET}/crab/image_0001.jpg"
    assert result.accepted[0] == AcceptedRow(7, keys.item_id(uri, "Crab"), uri, "crab/image_0001.jpg", "Crab", 99.5)
    assert result.accepted[1].line == 8
    assert result.accepted[1].label == "Crab"  # the label is trimmed
    assert (result.chunk, result.first_line, result.rows, result.blank) == (3, 7, 2, 0)
    assert result.to_json()["counts"] == {"accepted": 2, "rejected": 0, "below_min_confidence": 0}


def test_a_chunk_result_is_written_as_json_arrays_and_read_back_typed() -> None:
    result = validate(b"crab/1.jpg,Crab,99.5\n../x.jpg,Crab,97\ncrab/2.jpg,Crab,10\n", min_confidence=50)
    text = json.dumps(result.to_json())
    saved = json.loads(text)
    assert saved["accepted"][0] == [
        2,
        result.accepted[0].item_id,
        f"s3://{BUCKET}/crab/1.jpg",
        "crab/1.jpg",
        "Crab",
        99.5,
    ]
    assert saved["rejected"][0][:3] == [3, result.rejected[0].reason, "../x.jpg"]
    below = result.below_min[0]
    assert saved["below_min"] == [[4, below.item_id, "crab/2.jpg", "Crab", 10.0, below.confidence_text]]
    assert ingest.ChunkResult.from_json(saved) == result


def test_every_record_lands_in_exactly_one_place_with_its_line_number() -> None:
    body = (
        b"crab/1.jpg,Crab,99\n"  # 2 accepted
        b"\n"  # 3 blank
        b'crab/2.jpg,"Crab,\nking",98\n'  # 4 accepted: a quoted label with a comma and a line break
        b"../etc/passwd,Crab,97\n"  # 5 rejected
        b"crab/1.jpg,Crab,96\n"  # 6 duplicate of line 2
        b"crab/3.jpg,Crab,high\n"  # 7 rejected
        b"crab/4.jpg,Crab,10\n"  # 8 below the minimum confidence
        b"   \n"  # 9 blank (only spaces)
        b"crab/5.jpg,,95\n"  # 10 rejected: empty label
        b"crab/6.jpg,Crab,94,extra\n"  # 11 rejected: too many fields
        b"crab/7.jpg,Crab,93,,\n"  # 12 accepted: empty trailing fields are tolerated
        b"crab/8.jpg,Crab\n"  # 13 rejected: too few fields
        b"crab/9.jpg,Cr\xe9b,92\n"  # 14 rejected: not UTF-8 (Latin-1)
        b"crab/10.jpg," + b"L" * 257 + b",91\n"  # 15 rejected: label too long
        b"crab/11.jpg,Cr\x01ab,90\n"  # 16 rejected: control character
        b"s3://elsewhere/12.jpg,Crab,89\n"  # 17 rejected: foreign bucket
        b"crab/13.jpg,Crab,0.5\n"  # 18 rejected: fraction in a percent file
    )
    rules = ingest.Rules(BUCKET, IMAGES, 50.0, "percent")
    result = validate(body, rules=rules)
    assert [row[0] for row in result.accepted] == [2, 4, 12]
    assert result.accepted[1][4] == "Crab,\nking"
    assert [row[0] for row in result.below_min] == [8]
    assert result.blank == 2
    assert result.rows == 15
    got = reasons(result)
    assert set(got) == {5, 6, 7, 10, 11, 13, 14, 15, 16, 17, 18}
    assert "'..'" in got[5]
    assert got[6] == "duplicate of line 2 (same image and label); the first one is kept"
    assert "'high' is not a number" in got[7]
    assert got[10] == "label is empty"
    assert got[11] == "the line has 4 fields but the header has 3; quote fields that contain commas"
    assert got[13] == "the line has 2 fields but the header has 3"
    assert "not valid UTF-8" in got[14]
    assert "257 characters long; at most 256" in got[15]
    assert got[16] == "label contains control characters"
    assert "'elsewhere'" in got[17]
    assert "0–1 scale" in got[18]
    assert len(result.accepted) + len(result.rejected) + len(result.below_min) == result.rows


def test_rejected_rows_keep_what_was_written() -> None:
    result = validate(b"../x.jpg,Crab,97\ncrab/1.jpg,Crab," + b"9" * 400 + b"\n")
    assert result.rejected[0] == RejectedRow(2, result.rejected[0].reason, "../x.jpg", "Crab", "97")
    clipped = result.rejected[1].confidence
    assert clipped.endswith("…")
    assert len(clipped) == 301


def test_a_duplicate_is_the_same_image_and_label_not_the_same_image() -> None:
    result = validate(b"crab/1.jpg,Crab,99\ncrab/1.jpg,Crayfish,60\n./crab/1.jpg,Crab,50\n")
    assert [row[0] for row in result.accepted] == [2, 3]
    assert reasons(result) == {4: "duplicate of line 2 (same image and label); the first one is kept"}


def test_s3_image_url_column_and_extra_columns() -> None:
    header = b"id,s3_image_url,label,comment,confidence\n"
    body = f'1,s3://{IMAGES}/crab/1.jpg,Crab,"a, b",88\n2,crab/2.jpg,Crab,,77\n'.encode()
    result = validate(body, header=header)
    assert [row[2] for row in result.accepted] == [f"s3://{IMAGES}/crab/1.jpg"]
    assert reasons(result) == {3: "s3_image_url 'crab/2.jpg' is not an s3:// URI"}


def test_fraction_scale_is_stored_on_the_0_100_scale() -> None:
    result = validate(b"crab/1.jpg,Crab,0.875\n", rules=ingest.Rules(BUCKET, "", 0.0, "fraction"))
    assert result.accepted[0][5] == pytest.approx(87.5)


def test_minimum_confidence_is_on_the_0_100_scale_whatever_the_file_scale() -> None:
    rules = ingest.Rules(BUCKET, "", 80.0, "fraction")
    result = validate(b"crab/1.jpg,Crab,0.79\ncrab/2.jpg,Crab,0.8\n", rules=rules)
    assert [row[0] for row in result.below_min] == [2]
    assert [row[0] for row in result.accepted] == [3]


def test_label_item() -> None:
    uri = f"s3://{BUCKET}/crab/1.jpg"
    item = keys.item_id(uri, "Crab")
    row = [12, item, uri, "crab/1.jpg", "Crab", 99.5]
    assert ingest.label_item("run-1", row) == {
        "run_partition": keys.partition("run-1", item),
        "item_id": item,
        "run_id": "run-1",
        "s3_image_url": uri,
        "image": "crab/1.jpg",
        "label": "Crab",
        "confidence": 99.5,
        "line": 12,
    }
