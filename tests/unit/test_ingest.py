"""bulkqa.ingest: which image references and confidences are accepted, and validating a chunk's rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("x" * 1025, "image_local_path", "a key of 1025 bytes (UTF-8); S3 keys are at most 1024"),
        ("é" * 513, "image_local_path", "a key of 1026 bytes (UTF-8)"),  # 513 characters, 1,026 bytes
        ("S3://" + BUCKET + "/a.jpg", "s3_image_url", "the scheme must be lower-case s3://"),
        ("S3://" + BUCKET + "/a.jpg", "image_local_path", "the scheme must be lower-case s3://"),
        ("incoming/labels.csv", "image_local_path", "is under incoming/, where the stack keeps its own files"),
        ("runs/r-1/batches/000000-x.json", "image_local_path", "is under runs/"),
        ("./reports/r-1/report.html", "image_local_path", "is under reports/"),
        (f"s3://{BUCKET}/reports/r-1/report.html", "s3_image_url", "is under reports/"),
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


def test_the_key_limit_counts_utf8_bytes_not_characters() -> None:
    assert ingest.image_uri("x" * 1024, "image_local_path", RULES) == f"s3://{BUCKET}/{'x' * 1024}"
    assert ingest.image_uri("é" * 512, "image_local_path", RULES) == f"s3://{BUCKET}/{'é' * 512}"  # 1,024 bytes


@pytest.mark.parametrize("prefix", keys.STACK_PREFIXES)
def test_every_stack_prefix_is_refused_in_the_stacks_bucket_only(prefix: str) -> None:
    with pytest.raises(ValueError, match=f"is under {prefix}"):
        ingest.image_uri(f"{prefix}x.jpg", "image_local_path", RULES)
    with pytest.raises(ValueError, match=f"is under {prefix}"):
        ingest.image_uri(f"s3://{BUCKET}/{prefix}x.jpg", "s3_image_url", RULES)
    # another bucket's keys are not the stack's files; a look-alike prefix is not the prefix
    assert ingest.image_uri(f"s3://{IMAGES}/{prefix}x.jpg", "s3_image_url", RULES) == f"s3://{IMAGES}/{prefix}x.jpg"
    assert ingest.image_uri(f"{prefix[:-1]}-old/x.jpg", "image_local_path", RULES).endswith("-old/x.jpg")


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
        ("-0", "fraction", 0.0),
        ("+97", "percent", 97.0),
        ("97.", "percent", 97.0),
        (".5", "fraction", 50.0),
        ("0.57", "fraction", 57.0),  # exactly 57, not 56.99999999999999 (0.57 * 100 in floats)
        ("5.7E-1", "fraction", 57.0),
        ("79.999999", "percent", 79.999999),
        ("\t97 ", "percent", 97.0),
    ],
)
def test_confidence_value_accepts(raw: str, scale: str, value: float) -> None:
    stored = ingest.confidence_value(raw, scale)
    assert stored == value  # exact: float(Decimal) of the exact value on the 0-100 scale
    assert str(stored) != "-0.0"


@pytest.mark.parametrize(
    ("raw", "scale", "reason"),
    [
        ("", "percent", "confidence is empty"),
        ("   ", "percent", "confidence is empty"),
        ("high", "percent", "is not a number"),
        ("97,5", "percent", "use a decimal point (97.5), not a comma"),
        ("9_5", "percent", "'9_5' is not a number: remove the underscores"),
        ("\u0669\u0665", "percent", "with the ASCII digits 0-9 only"),  # Arabic-Indic 95
        ("\uff19\uff15", "percent", "with the ASCII digits 0-9 only"),  # full-width 95
        ("95\u00a0", "percent", "with the ASCII digits 0-9 only"),  # a no-break space after it
        ("95%", "percent", "'95%' is not a number"),
        ("~95", "percent", "'~95' is not a number"),
        ("0x5f", "percent", "is not a number"),
        ("1.2.3", "percent", "is not a number"),
        ("1e", "percent", "is not a number"),
        ("infinity", "percent", "not a finite number"),
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


def test_the_confidence_is_exact_on_the_decimal_text() -> None:
    assert ingest.confidence_decimal("0.57", "fraction") == Decimal(57)
    assert ingest.confidence_decimal("0.1234567890123456789012345678901", "fraction") == Decimal(
        "12.34567890123456789012345678901"
    )
    assert ingest.confidence_decimal("79.999999", "percent") < 80


def test_confidence_message_is_clipped() -> None:
    with pytest.raises(ValueError) as error:
        ingest.confidence_value("x" * 500, "percent")
    assert len(str(error.value)) < 100


# --- validate_chunk ----------------------------------------------------------------------------------


def test_accepted_rows_carry_line_item_uri_image_label_and_confidence() -> None:
    result = validate(b"crab/image_0001.jpg,Crab,99.5\ncrab/image_0002.jpg, Crab ,0\n", first_line=7, chunk=3)
    uri = f"s3://{BUCKET}/crab/image_0001.jpg"
    item = keys.item_id(uri, "Crab")
    assert result.accepted[0] == AcceptedRow(7, item, uri, "crab/image_0001.jpg", "Crab", 99.5, "99.5")
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
        "99.5",
    ]
    assert saved["rejected"][0][:3] == [3, result.rejected[0].reason, "../x.jpg"]
    below = result.below_min[0]
    assert saved["below_min"] == [[4, below.item_id, "crab/2.jpg", "Crab", 10.0, below.confidence_text]]
    assert ingest.ChunkResult.from_json(saved) == result


def test_every_record_lands_in_exactly_one_place_with_its_line_number() -> None:
    body = (
        b"crab/1.jpg,Crab,99\n"  # 2 accepted
        b"\n"  # 3 blank
        b'crab/2.jpg,"Crab,\nking",98\n'  # 4 rejected: a quoted label with a line break (one record, one line)
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
    assert [row[0] for row in result.accepted] == [2, 12]
    assert [row[0] for row in result.below_min] == [8]
    assert result.blank == 2
    assert result.rows == 15
    got = reasons(result)
    assert set(got) == {4, 5, 6, 7, 10, 11, 13, 14, 15, 16, 17, 18}
    # a line break in a label was kept (CR turned into LF) before #17: the one label policy refuses it now,
    # since a reviewer cannot see it and it splits the row in every line-based output
    assert got[4] == "label contains U+000A (a control character) at character 6; remove it"
    assert "'..'" in got[5]
    assert got[6] == "duplicate of line 2 (same image and label); the first one is kept"
    assert "'high' is not a number" in got[7]
    assert got[10] == "label is empty"
    assert got[11] == "the line has 4 fields but the header has 3; quote fields that contain commas"
    assert got[13] == "the line has 2 fields but the header has 3"
    assert "not valid UTF-8" in got[14]
    assert "257 characters long; at most 256" in got[15]
    assert got[16] == "label contains U+0001 (a control character) at character 3; remove it"
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
    row = AcceptedRow(12, item, uri, "crab/1.jpg", "Crab", 99.5)
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


# --- #17: one label policy, duplicates, exact confidences, quoting -----------------------------------


def test_labels_follow_the_one_label_policy() -> None:
    body = (
        "a.jpg,Cafe\u0301,99\n"  # 2 accepted, stored NFC: "Café"
        "a.jpg,Caf\u00e9,98\n"  # 3 the same class spelled another way: a duplicate of line 2
        "b.jpg,\u00a0Crab\u2003,97\n"  # 4 accepted: spaces (category Zs) around it are trimmed
        'c.jpg,"Crab\r\nking",96\n'  # 5 refused: a line break
        "d.jpg,Crab\tking,95\n"  # 6 refused: a tab
        "e.jpg,Crab\u202e,94\n"  # 7 refused: a bidirectional control
        "f.jpg,Cr\u200bab,93\n"  # 8 refused: a zero-width space
        "g.jpg,Crab\u2028,92\n"  # 9 refused: a line separator
        "h.jpg,Crab\u0085,91\n"  # 10 refused: NEL, a C1 control
        "i.jpg,\ufeffCrab,90\n"  # 11 refused: a BOM
        "j.jpg,Crab\u00ad,89\n"  # 12 refused: a soft hyphen
    ).encode()
    result = validate(body)
    assert [(row.line, row.label) for row in result.accepted] == [(2, "Caf\u00e9"), (4, "Crab")]
    uri = f"s3://{BUCKET}/a.jpg"
    assert result.accepted[0].item_id == keys.item_id(uri, "Caf\u00e9")  # the id of the normalised label
    got = reasons(result)
    assert got[3] == "duplicate of line 2 (same image and label); the first one is kept"
    for line, point in [(5, "U+000D"), (6, "U+0009"), (7, "U+202E RIGHT-TO-LEFT OVERRIDE"), (8, "U+200B")]:
        assert got[line].startswith(f"label contains {point}"), got[line]
    for line, point in [(9, "U+2028 LINE SEPARATOR"), (10, "U+0085"), (11, "U+FEFF"), (12, "U+00AD SOFT HYPHEN")]:
        assert got[line].startswith(f"label contains {point}"), got[line]
    rejected = {row.line: row for row in result.rejected}
    assert rejected[5].label == "Crab\r\nking"  # rejected.csv shows the label as written
    assert len(result.accepted) + len(result.rejected) + len(result.below_min) == result.rows == 11


@pytest.mark.parametrize(
    ("later", "why"),
    [
        ("99", "above the minimum"),
        ("10", "also below"),
        ("high", "unreadable: still a duplicate, the first copy decides"),
        ("", "empty"),
        ("140", "out of range"),
    ],
)
def test_the_first_copy_below_the_minimum_decides_for_every_later_copy(later: str, why: str) -> None:
    body = f"crab/1.jpg,Crab,10\ncrab/2.jpg,Crab,99\ncrab/1.jpg,Crab,{later}\n".encode()
    result = validate(body, min_confidence=50)
    assert [row.line for row in result.below_min] == [2], why  # a later copy is never counted below the minimum
    assert [row.line for row in result.accepted] == [3]
    assert reasons(result) == {4: "duplicate of line 2 (same image and label); the first one is kept"}
    assert result.rejected[0].confidence == later  # the raw text


def test_an_accepted_first_copy_decides_for_a_later_copy_with_an_unreadable_confidence() -> None:
    result = validate(b"crab/1.jpg,Crab,90\ncrab/1.jpg,Crab,9_0\n")
    assert reasons(result) == {3: "duplicate of line 2 (same image and label); the first one is kept"}


def test_a_copy_rejected_for_its_own_confidence_is_not_a_first_copy() -> None:
    # the same holds across chunks, where make_batches only sees the accepted and below-minimum rows
    result = validate(b"crab/1.jpg,Crab,high\ncrab/1.jpg,Crab,90\n")
    assert [row.line for row in result.accepted] == [3]
    assert "'high' is not a number" in reasons(result)[2]


def test_the_minimum_is_compared_exactly_with_the_decimal_text() -> None:
    fraction = ingest.Rules(BUCKET, "", 57.0, "fraction")
    result = validate(b"a.jpg,Crab,0.57\nb.jpg,Crab,0.5699999999999999999\n", rules=fraction)
    assert [(row.line, row.confidence) for row in result.accepted] == [(2, 57.0)]  # at the minimum, not below
    assert [row.line for row in result.below_min] == [3]
    percent = ingest.Rules(BUCKET, "", 80.0, "percent")
    result = validate(b"a.jpg,Crab,79.999999\nb.jpg,Crab,79.99999999999999999999\nc.jpg,Crab,80.0\n", rules=percent)
    assert [(row.line, row.confidence_text) for row in result.below_min] == [
        (2, "79.999999"),
        (3, "79.99999999999999999999"),  # float(...) is 80.0, but the text is below 80
    ]
    assert [row.line for row in result.accepted] == [4]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'a.jpg,"Bea"ver,90', "malformed quoting in field 2: text after the closing quote"),
        (b'a.jpg,Bea"ver,90', 'malformed quoting in field 2: a quote (") inside a field that is not quoted'),
        (b'a.jpg,12" vinyl,90', 'a quote (") inside a field that is not quoted'),
        (b'a.jpg, "Crab, king",90', "malformed quoting in field 2: a space before the opening quote"),
        (b'"a.jpg" ,Crab,90', "malformed quoting in field 1: text after the closing quote"),
        (b'a.jpg,Crab,"90"%', "malformed quoting in field 3: text after the closing quote"),
        (b"a.jpg,Crab,90,5", "is 90,5 a confidence with a decimal comma? Use a decimal point, or quote the field"),
        (b"a.jpg,Cr\x00ab,90", "the line contains a NUL byte (U+0000) at character 9; remove it"),
        (b"a.jpg,Crab,90,\x00", "the line contains a NUL byte (U+0000) at character 15"),  # even in an extra field
        (b'a.jpg,"Cr\x00ab",90', "the line contains a NUL byte (U+0000) at character 10"),
    ],
)
def test_rows_that_cannot_be_read_as_written_are_rejected_saying_why(line: bytes, reason: str) -> None:
    result = validate(b"ok.jpg,Crab,90\n" + line + b"\nok2.jpg,Crab,91\n")
    assert reason in reasons(result)[3]
    assert [row.line for row in result.accepted] == [2, 4]


def test_well_formed_quoting_is_accepted() -> None:
    body = b'"a.jpg","Crab, king","90"\nb.jpg,"12"" vinyl",91\n"c.jpg",Crab,"92"\n'
    result = validate(body)
    assert [row.label for row in result.accepted] == ["Crab, king", '12" vinyl', "Crab"]


def test_a_later_field_with_quotes_does_not_hide_the_first_problem() -> None:
    result = validate(b'a.jpg,Bea"ver,"9"0\n')
    assert "field 2" in reasons(result)[2]


@settings(max_examples=300, deadline=None)
@given(
    text=st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{0,20})?\Z")
    | st.sampled_from(["80", "80.0", "79.99999999999999999", "1"]),
    minimum=st.sampled_from([0.0, 1.0, 57.0, 80.0, 99.5, 100.0]),
    scale=st.sampled_from(["percent", "fraction"]),
)
def test_the_fast_paths_agree_with_the_exact_rule(text: str, minimum: float, scale: str) -> None:
    """Whatever path validate_chunk takes, a row's category and stored value follow the exact Decimal rule."""
    result = validate(f"a.jpg,Crab,{text}\n".encode(), rules=ingest.Rules(BUCKET, "", minimum, scale))
    exact = Decimal(text) * (100 if scale == "fraction" else 1)
    if (scale == "fraction" and Decimal(text) > 1) or exact > 100 or (scale == "percent" and 0 < exact < 1):
        assert len(result.rejected) == 1
    elif exact < Decimal(repr(minimum)):
        assert [row.confidence for row in result.below_min] == [float(exact)]
    else:
        assert [row.confidence for row in result.accepted] == [float(exact)]


def test_only_a_row_rejected_for_its_confidence_alone_carries_its_item_id() -> None:
    result = validate(
        b"crab/1.jpg,Crab,high\n../x.jpg,Crab,high\ncrab/2.jpg,,high\ncrab/3.jpg,Crab,9\ncrab/3.jpg,Crab,x\n"
    )
    ids = {row.line: row.item_id for row in result.rejected}
    assert ids == {2: keys.item_id(f"s3://{BUCKET}/crab/1.jpg", "Crab"), 3: "", 4: "", 6: ""}  # 6: a duplicate
    assert [row.line for row in result.accepted] == [5]
