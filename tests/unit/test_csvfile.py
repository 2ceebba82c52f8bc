"""bulkqa.csvfile: the header, the plan of chunks, and parsing one chunk on its own.

The property at the heart of the ingest: whatever the line ends, quoting, chunk size and the way the
file arrives in blocks, every chunk starts and ends on a record boundary, so parsing each chunk alone
gives exactly the rows of the whole file, with the right first line number.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkqa import csvfile
from bulkqa.errors import InvalidLabelFile

HEADER = b"image_local_path,label,confidence"


def parse(data: bytes) -> list[list[str]]:
    """The reference parser: Python's csv module over the whole text."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def plan(data: bytes, chunk_bytes: int, block: int | None = None) -> tuple[csvfile.Header, list[csvfile.Chunk], int]:
    header = csvfile.read_header(data)
    body = data[header.data_start :]
    size = block or max(1, len(body))
    blocks = [body[i : i + size] for i in range(0, len(body), size)]
    chunks, records = csvfile.plan_chunks(blocks, header.data_start, chunk_bytes)
    return header, chunks, records


def chunk_rows(data: bytes, chunk: csvfile.Chunk) -> list[list[str]]:
    return [row for row, _ in csvfile.records(data[chunk.start : chunk.end])]


# --- read_header -----------------------------------------------------------------------------------


def test_header_in_any_order_case_and_spaces() -> None:
    header = csvfile.read_header(b" Label ,CONFIDENCE, s3_image_url ,extra\nCrab,99,s3://b/k.jpg,x\n")
    assert header.columns == ("label", "confidence", "s3_image_url", "extra")
    assert (header.image_column, header.image_index, header.label_index, header.confidence_index) == (
        "s3_image_url",
        2,
        0,
        1,
    )
    assert header.data_start == len(b" Label ,CONFIDENCE, s3_image_url ,extra\n")


@pytest.mark.parametrize(
    ("data", "data_start"),
    [
        (HEADER + b"\nx.jpg,Crab,99\n", len(HEADER) + 1),
        (HEADER + b"\r\nx.jpg,Crab,99\r\n", len(HEADER) + 2),
        (HEADER + b"\rx.jpg,Crab,99\r", len(HEADER) + 1),
        (b"\xef\xbb\xbf" + HEADER + b"\r\nx.jpg,Crab,99\r\n", 3 + len(HEADER) + 2),
        (HEADER, len(HEADER)),  # the whole file is the header
    ],
)
def test_header_line_ends_and_bom(data: bytes, data_start: int) -> None:
    header = csvfile.read_header(data)
    assert header.columns == ("image_local_path", "label", "confidence")
    assert header.data_start == data_start


def test_header_round_trips_through_json() -> None:
    header = csvfile.read_header(b"\xef\xbb\xbf" + HEADER + b"\r\n")
    assert csvfile.Header.from_json(header.to_json()) == header


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf\r\n\r\n  \n", "the file is empty"),
        (b"\xff\xfei\x00m\x00a\x00g\x00e\x00", "UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"image_local_path,lab\xe9l,confidence\n", "not UTF-8 text"),
        (b"x" * (csvfile.HEADER_LIMIT + 10), "longer than"),
        (b"image_local_path,label\nx.jpg,Crab\n", "missing the column(s) confidence"),
        (b"image_local_path,confidence\n", "missing the column(s) label"),
        (b"label,confidence\n", "missing the column(s) image_local_path (or s3_image_url)"),
        (b"a,b,c\n", "image_local_path (or s3_image_url), label, confidence; found 'a', 'b', 'c'"),
        (b"image_local_path,label,confidence,Label\n", "'label' appears twice in the header (columns 2 and 4)"),
        (b"image_local_path,s3_image_url,label,confidence\n", "both image_local_path and s3_image_url"),
        (b'image_local_path,"label,confidence\na.jpg,Crab,99\n', 'the header opens a quoted field (") that is never'),
        (
            b"image_local_path,la\x00bel,confidence\na.jpg,Crab,99\n",
            "the header contains a NUL byte (U+0000) at byte 20",
        ),
        (b"i\x00m\x00a\x00g\x00e\x00\n\x00", "UTF-16"),
    ],
)
def test_header_errors_say_what_to_fix(data: bytes, message: str) -> None:
    with pytest.raises(InvalidLabelFile) as error:
        csvfile.read_header(data)
    assert message in str(error.value)


def test_an_unclosed_quote_in_the_header_does_not_echo_the_file() -> None:
    data = b'image_local_path,"label,confidence\n' + b"secret/a.jpg,Crab,99\n" * 50
    with pytest.raises(InvalidLabelFile) as error:
        csvfile.read_header(data)
    assert "secret" not in str(error.value)
    assert "never closed" in str(error.value)


def test_a_header_quote_closed_in_a_later_line_does_not_echo_the_rows() -> None:
    data = b'image_local_path,"label,confidence\nsecret/a.jpg,Crab",99\nsecret/b.jpg,Crab,99\n'
    with pytest.raises(InvalidLabelFile) as error:
        csvfile.read_header(data)
    assert "secret" not in str(error.value)
    assert "runs over more than one line" in str(error.value)


def test_nul_bytes_in_rows_are_not_a_file_error() -> None:
    # one rule for NUL: the header is fine here, so the rows that hold NULs are rejected, not the file
    data = HEADER + b"\na\x00.jpg,C\x00r\x00ab,99\n"
    assert csvfile.read_header(data).data_start == len(HEADER) + 1


def xlsx_bytes() -> bytes:
    """The start of a real .xlsx: a ZIP archive, with dozens of NUL bytes in its first 200 bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types/>" * 20)
        archive.writestr("xl/workbook.xml", "<workbook/>" * 50)
    return out.getvalue()


def test_an_excel_file_is_recognised() -> None:
    with pytest.raises(InvalidLabelFile, match=r"ZIP archive \(an Excel \.xlsx\?\)"):
        csvfile.read_header(xlsx_bytes())


def test_unneeded_columns_may_repeat() -> None:
    header = csvfile.read_header(b"note,image_local_path,note,label,confidence,\n")
    assert header.image_index == 1


def test_quoted_header_with_a_line_break_in_a_column_name() -> None:
    data = b'"image_local_path","label","confi\ndence",confidence\nx.jpg,Crab,a,99\n'
    header = csvfile.read_header(data)
    assert header.confidence_index == 3
    assert data[header.data_start :] == b"x.jpg,Crab,a,99\n"


# --- plan_chunks -----------------------------------------------------------------------------------


def test_one_chunk_when_the_file_is_small() -> None:
    data = HEADER + b"\na.jpg,Crab,99\nb.jpg,Crab,98\n"
    header, chunks, records = plan(data, 4 * 1024 * 1024)
    assert records == 2
    assert chunks == [csvfile.Chunk(0, header.data_start, len(data), 2)]


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_chunk_boundaries_are_record_ends(end: bytes) -> None:
    rows = [f"img/{n:04d}.jpg,Label {n % 7},{90 + n % 10}".encode() for n in range(200)]
    data = HEADER + end + end.join(rows) + end
    header, chunks, records = plan(data, 300)
    assert records == 200
    assert len(chunks) > 5
    assert chunks[0].start == header.data_start
    assert chunks[-1].end == len(data)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
        assert data[: after.start].endswith(end)
        assert after.first_line == before.first_line + len(chunk_rows(data, before))
    assert [r for c in chunks for r in chunk_rows(data, c)] == parse(data)[1:]


def test_quoted_line_breaks_never_split_a_record() -> None:
    rows = []
    for n in range(60):
        label = f'"Sea\r\nTurtle, {n}\nwith ""quotes"""' if n % 3 == 0 else f"Crab {n}"
        rows.append(f"img/{n}.jpg,{label},9{n % 10}".encode())
    data = HEADER + b"\r\n" + b"\r\n".join(rows) + b"\r\n"
    _, chunks, records = plan(data, 64)
    assert records == 60
    assert len(chunks) > 10
    got = [r for c in chunks for r in chunk_rows(data, c)]
    assert got == parse(data)[1:]
    assert got[0][1] == 'Sea\r\nTurtle, 0\nwith "quotes"'
    # line numbers are record numbers (header = line 1), not physical lines
    for chunk in chunks:
        first_image = chunk_rows(data, chunk)[0][0]
        assert chunk.first_line == int(first_image.removeprefix("img/").removesuffix(".jpg")) + 2


def test_a_cr_at_a_block_edge_is_not_mistaken_for_two_line_ends() -> None:
    data = HEADER + b"\r\n" + b"".join(f"{n}.jpg,Crab,99\r\n".encode() for n in range(50))
    header = csvfile.read_header(data)
    body = data[header.data_start :]
    cut = body.index(b"\r\n") + 1  # a block ends between CR and LF
    chunks, records = csvfile.plan_chunks([body[:cut], body[cut:]], header.data_start, 10**6)
    assert records == 50
    assert chunks == [csvfile.Chunk(0, header.data_start, len(data), 2)]


def test_blank_lines_are_records() -> None:
    data = HEADER + b"\n\na.jpg,Crab,99\n\r\n\nb.jpg,Crab,98"
    _, chunks, records = plan(data, 10**6)
    assert records == 5
    assert chunks[-1].end == len(data)


def test_no_trailing_line_end() -> None:
    data = HEADER + b"\na.jpg,Crab,99\nb.jpg,Crab,98"
    _, chunks, records = plan(data, 10)
    assert records == 2
    assert [c.first_line for c in chunks] == [2, 3]
    assert chunks[-1].end == len(data)


def test_header_only_plans_nothing() -> None:
    header = csvfile.read_header(HEADER + b"\n")
    assert csvfile.plan_chunks([], header.data_start, 1024) == ([], 0)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'a.jpg,"Crab,99\nb.jpg,Crab,98\n', 2),
        (b'a.jpg,Crab,99\nb.jpg,Crab,98\nc.jpg,"Crab\n', 4),
        (b'a.jpg,"Crab\nstill, quoted",99\nc.jpg,Crab,"9\r\n\r\n', 3),
    ],
)
def test_unterminated_quote_is_a_file_error_naming_the_line(body: bytes, line: int) -> None:
    header = csvfile.read_header(HEADER + b"\n" + body)
    with pytest.raises(InvalidLabelFile, match=f"line {line} opens a quoted field"):
        csvfile.plan_chunks([body], header.data_start, 16)


def test_a_quote_inside_an_unquoted_field_is_a_plain_character() -> None:
    data = HEADER + b'\na.jpg,12" vinyl,99\nb.jpg,Crab,98\n'
    _, chunks, records = plan(data, 1)
    assert records == 2
    assert len(chunks) == 2
    assert [r for c in chunks for r in chunk_rows(data, c)] == parse(data)[1:]


# the property: chunks parsed alone == the whole file parsed at once

FIELD = st.text(alphabet=st.sampled_from(list('ab ,"\r\n\tü')), max_size=8)
ROWS = st.lists(st.lists(FIELD, min_size=1, max_size=4), min_size=0, max_size=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=ROWS,
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
    trailing=st.booleans(),
    chunk_bytes=st.integers(min_value=1, max_value=200),
    block=st.integers(min_value=1, max_value=64),
)
def test_every_chunk_parses_alone_to_the_rows_of_the_whole_file(
    rows: list[list[str]], end: str, bom: bool, trailing: bool, chunk_bytes: int, block: int
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=end)
    writer.writerow(["image_local_path", "label", "confidence"])
    writer.writerows(rows)
    text = out.getvalue()
    if not trailing and rows:
        text = text[: -len(end)]
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    expected = parse(data[3 if bom else 0 :])[1:]

    header, chunks, records = plan(data, chunk_bytes, block)

    assert records == len(expected)
    if not expected:
        assert chunks == []
        return
    assert chunks[0].start == header.data_start
    assert chunks[-1].end == len(data)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    line = 2
    got: list[list[str]] = []
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
    for chunk in chunks:
        assert chunk.end > chunk.start
        assert chunk.first_line == line
        alone = chunk_rows(data, chunk)
        line += len(alone)
        got.extend(alone)
    assert got == expected


# --- parsing a chunk -------------------------------------------------------------------------------


def test_records_flags_lines_that_are_not_utf8() -> None:
    parsed = list(csvfile.records(b"a.jpg,Cr\xe9b,99\nb.jpg,Cr\xc3\xa9b,98\n\n"))
    assert [problem for _, problem in parsed] == [
        "the line is not valid UTF-8 text; save the file as UTF-8",
        None,
        None,
    ]
    assert parsed[1][0] == ["b.jpg", "Créb", "98"]
    assert parsed[2][0] == []


# --- the confidence scale --------------------------------------------------------------------------


def test_sample_confidences_reads_complete_lines_only() -> None:
    data = HEADER + b"\na.jpg,Crab,0.5\nb.jpg,Crab,nan\nc.jpg,Crab,-1\nd.jpg,Crab,x\ne.jpg,Crab,0.7\nf.jpg,Crab,9"
    header = csvfile.read_header(data)
    assert csvfile.sample_confidences(data, header) == [Decimal("0.5"), Decimal("0.7")]  # the cut-off line is not


def test_sample_confidences_stops_at_the_limit() -> None:
    data = HEADER + b"\n" + b"".join(f"{n}.jpg,Crab,{n}\n".encode() for n in range(50))
    header = csvfile.read_header(data)
    assert csvfile.sample_confidences(data, header, limit=10) == [Decimal(n) for n in range(10)]


def reader_of(data: bytes, ranges: list[tuple[int, int]] | None = None, size: int = 1000) -> Callable[[int], bytes]:
    def read_more(offset: int) -> bytes:
        if ranges is not None:
            ranges.append((offset, min(len(data), offset + size)))
        return data[offset : offset + size]

    return read_more


def test_sample_confidences_reads_the_first_records_wherever_they_lie() -> None:
    # a first row of 300 KB used to fill the whole head: no record was sampled and the file was read as 0-100
    big = b'a.jpg,"' + b"x" * 300_000 + b'",0.9\n'
    rows = b"".join(f"{n}.jpg,Crab,0.{n % 10}\n".encode() for n in range(1, 10_000))
    data = HEADER + b"\n" + big + rows
    header = csvfile.read_header(data)
    head = data[: 256 * 1024]
    assert csvfile.sample_confidences(head, header) == []  # the head alone holds no complete record
    ranges: list[tuple[int, int]] = []
    samples = csvfile.sample_confidences(head, header, read_more=reader_of(data, ranges, 64 * 1024))
    assert len(samples) == 1000  # the first 1,000 records, the long one included
    assert samples[0] == Decimal("0.9")
    assert csvfile.decide_scale(samples, "auto") == "fraction"
    assert ranges[0][0] == len(head)  # further ranges follow the head, and stop once 1,000 records are read
    assert ranges[-1][1] < len(data)


def test_sample_confidences_reads_a_last_record_without_a_line_end_at_the_end_of_the_file() -> None:
    data = HEADER + b"\na.jpg,Crab,0.5\nb.jpg,Crab,1"
    header = csvfile.read_header(data)
    samples = csvfile.sample_confidences(data[:30], header, read_more=reader_of(data, size=7))
    assert samples == [Decimal("0.5"), Decimal(1)]


def test_sample_confidences_only_counts_plain_decimal_numbers() -> None:
    data = HEADER + "\na.jpg,Crab,0.5\nb.jpg,Crab,\uff15\nc.jpg,Crab,infinity\nd.jpg,Crab,9_5\n".encode()
    assert csvfile.sample_confidences(data, csvfile.read_header(data)) == [Decimal("0.5")]


@pytest.mark.parametrize(
    ("samples", "configured", "scale"),
    [
        ([Decimal("0.2"), Decimal("1")], "auto", "fraction"),
        ([Decimal("1"), Decimal("1.0000000000000000001")], "auto", "percent"),
        ([Decimal("1"), Decimal("0")], "auto", "fraction"),  # a file of 0 and 1 only is read as fractions
        ([0.2, 0.99, 1.0], "auto", "fraction"),
        ([0.2, 0.99, 1.5], "auto", "percent"),
        ([], "auto", "percent"),
        ([0.2, 0.5], "percent", "percent"),
        ([50.0, 99.0], "fraction", "fraction"),
    ],
)
def test_decide_scale(samples: list[Decimal | float], configured: str, scale: str) -> None:
    assert csvfile.decide_scale(samples, configured) == scale


@settings(max_examples=300, deadline=None)
@given(
    rows=ROWS, end=st.sampled_from(["\n", "\r\n", "\r"]), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
)
def test_what_a_csv_writer_writes_is_never_malformed_quoting(rows: list[list[str]], end: str, quoting: bool) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator=end, quoting=csv.QUOTE_ALL if quoting else csv.QUOTE_MINIMAL).writerows(rows)
    parsed = list(csvfile.records(out.getvalue().encode("utf-8")))
    assert [problem for _, problem in parsed] == [None] * len(parsed)
    assert [row for row, _ in parsed] == parse(out.getvalue().encode("utf-8"))


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('a,"b"c,d', "field 2: text after the closing quote"),
        ('a,b"c,d', 'field 2: a quote (") inside a field that is not quoted'),
        ('a,  "b,c",d', "field 2: a space before the opening quote"),
        ('"a"\t,b', "field 1: text after the closing quote"),
        ('a,"b\nc"x,d', "field 2: text after the closing quote"),  # over two physical lines
        ('a,"b""c",d', None),
        ('a,"",d', None),
        ('a,"b\r\nc",d', None),
    ],
)
def test_records_names_malformed_quoting(record: str, problem: str | None) -> None:
    ((_, got),) = list(csvfile.records(record.encode() + b"\n"))
    assert got == problem or (problem is not None and got is not None and problem in got)
