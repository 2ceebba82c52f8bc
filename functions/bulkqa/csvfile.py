"""Reading a label CSV: the header, the plan of chunks, and the rows of one chunk.

A label file is UTF-8 text (a BOM is fine) with a header naming, in any order, ``label``,
``confidence`` and the image column ``image_local_path`` (a key in the stack's bucket) or
``s3_image_url`` (an ``s3://`` URI). Line ends may be LF, CRLF or CR; fields may be quoted with
commas and line breaks inside.

Line numbers follow ``docs/interfaces.md``: the header is line 1 and the n-th record after it is line
n + 1, which is its physical line unless quoted fields before it contain line breaks.

The planner splits the file into byte ranges that start and end on record boundaries, with the same
quoting rules as Python's ``csv`` module (a quote opens a quoted field only at the start of a field),
so every chunk can be parsed on its own and its first line number is known.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidLabelFile

if TYPE_CHECKING:
    from .model import ChunkJSON, HeaderJSON

IMAGE_COLUMNS = ("image_local_path", "s3_image_url")
REQUIRED = ("label", "confidence")
HEADER_LIMIT = 10 * 1024  # as Step Functions' CSV reader: a header of at most 10 KiB
MAX_LABEL_CHARS = 256
MAX_IMAGE_CHARS = 1024
SAMPLE_ROWS = 1000

csv.field_size_limit(16 * 1024 * 1024)  # long fields are rejected by our own rule, not by csv


@dataclass(frozen=True, slots=True)
class Header:
    """Where the needed columns are, and where the data starts."""

    columns: tuple[str, ...]
    image_column: str
    image_index: int
    label_index: int
    confidence_index: int
    data_start: int  # byte offset of the first data record

    def to_json(self) -> HeaderJSON:
        return {
            "columns": list(self.columns),
            "image_column": self.image_column,
            "image_index": self.image_index,
            "label_index": self.label_index,
            "confidence_index": self.confidence_index,
            "data_start": self.data_start,
        }

    @classmethod
    def from_json(cls, data: HeaderJSON) -> Header:
        return cls(
            tuple(str(c) for c in data["columns"]),
            str(data["image_column"]),
            int(data["image_index"]),
            int(data["label_index"]),
            int(data["confidence_index"]),
            int(data["data_start"]),
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    start: int
    end: int
    first_line: int

    def to_json(self) -> ChunkJSON:
        return {"chunk": self.index, "start": self.start, "end": self.end, "first_line": self.first_line}


def _looks_binary(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (an Excel .xlsx?); export it as CSV (UTF-8)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:200].count(b"\x00") > 2:
        return "it looks like UTF-16 or binary data; save it as UTF-8 CSV"
    return None


def read_header(head: bytes) -> Header:
    """Parse the header from the first bytes of the file; InvalidLabelFile says what to fix."""
    if not head.strip(b"\r\n\t \xef\xbb\xbf"):
        raise InvalidLabelFile(
            "the file is empty; upload a CSV with a header line "
            "image_local_path,label,confidence and one row per labelled image"
        )
    problem = _looks_binary(head)
    if problem:
        raise InvalidLabelFile(f"the file is not a UTF-8 CSV: {problem}")
    end = _first_record_end(head)
    if end is None:
        if len(head) >= HEADER_LIMIT:
            raise InvalidLabelFile(f"the header line is longer than {HEADER_LIMIT} bytes; is this a CSV file?")
        end = len(head)
    raw = head[:end]
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidLabelFile(
            f"the header line is not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8"
        ) from exc
    rows = list(csv.reader(io.StringIO(text, newline="")))
    names = tuple(c.strip().lower() for c in (rows[0] if rows else []))
    found = ", ".join(repr(c) for c in names) or "nothing"
    seen: dict[str, int] = {}
    for n, name in enumerate(names):
        if name and name in seen and name in (*IMAGE_COLUMNS, *REQUIRED):
            raise InvalidLabelFile(
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {n + 1}); keep one"
            )
        seen.setdefault(name, n)
    images = [c for c in IMAGE_COLUMNS if c in seen]
    missing = [c for c in REQUIRED if c not in seen]
    if not images:
        missing.insert(0, "image_local_path (or s3_image_url)")
    if missing:
        raise InvalidLabelFile(
            f"the header is missing the column(s) {', '.join(missing)}; found {found}. "
            "The first line must name image_local_path (or s3_image_url), label and confidence, in any order"
        )
    if len(images) > 1:
        raise InvalidLabelFile("the header has both image_local_path and s3_image_url; keep one image column")
    return Header(names, images[0], seen[images[0]], seen["label"], seen["confidence"], end)


def _first_record_end(data: bytes) -> int | None:
    scanner = _RecordScanner()
    for line in data.splitlines(keepends=True):
        if not line.endswith((b"\n", b"\r")):
            return None
        if scanner.feed_line(line):
            return scanner.consumed
    return None


class _RecordScanner:
    """Finds record ends in a byte stream with the csv module's quoting rules."""

    __slots__ = ("consumed", "in_quotes", "state")

    def __init__(self) -> None:
        self.consumed = 0
        self.in_quotes = False
        self.state = 0  # 0 start of field, 1 unquoted, 2 quoted, 3 quote inside quoted

    def feed_line(self, line: bytes) -> bool:
        """Consume one physical line (with its terminator); True if a record ends with it."""
        self.consumed += len(line)
        if not self.in_quotes and b'"' not in line:
            return True
        state = 2 if self.in_quotes else 0
        for byte in line.rstrip(b"\r\n") if not self.in_quotes else line:
            if state == 0:
                state = 2 if byte == 34 else (0 if byte == 44 else 1)
            elif state == 1:
                if byte == 44:
                    state = 0
            elif state == 2:
                if byte == 34:
                    state = 3
            elif byte == 34:
                state = 2
            else:
                state = 0 if byte == 44 else 1
        self.in_quotes = state == 2
        return not self.in_quotes


def plan_chunks(
    blocks: Iterable[bytes], data_start: int, chunk_bytes: int, stats: dict[str, int] | None = None
) -> tuple[list[Chunk], int]:
    """Split the data part of a file (from ``data_start``) into chunks of about ``chunk_bytes``.

    ``blocks`` yields the file's bytes from ``data_start`` in order. Returns the chunks and the number
    of records after the header (blank lines included; ``stats["blank"]`` counts those). An
    unterminated quoted field is a file error.
    """
    chunks: list[Chunk] = []
    scanner = _RecordScanner()
    scanner.consumed = data_start
    records = 0
    chunk_start, chunk_first_record = data_start, 0
    carry = b""
    quote_opened_at = 0
    blank = 0
    record_blank = True

    def close_chunk(end: int) -> None:
        nonlocal chunk_start, chunk_first_record
        if end > chunk_start:
            chunks.append(Chunk(len(chunks), chunk_start, end, chunk_first_record + 2))
        chunk_start, chunk_first_record = end, records

    for block in blocks:
        data = carry + block
        lines = data.splitlines(keepends=True)
        carry = b""
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            carry = lines.pop()  # incomplete, or a CR that may be the first half of CRLF
        for line in lines:
            was_quoted = scanner.in_quotes
            record_blank = record_blank and not line.strip()
            if scanner.feed_line(line):
                records += 1
                blank += record_blank
                record_blank = True
                if scanner.consumed - chunk_start >= chunk_bytes:
                    close_chunk(scanner.consumed)
            elif not was_quoted:
                quote_opened_at = records
    if carry:
        was_quoted = scanner.in_quotes
        record_blank = record_blank and not carry.strip()
        if scanner.feed_line(carry):
            records += 1
            blank += record_blank
        elif not was_quoted:
            quote_opened_at = records
    if scanner.in_quotes:
        raise InvalidLabelFile(
            f'line {quote_opened_at + 2} opens a quoted field (") that is never closed, so the rest of the '
            "file cannot be read; close the quote or remove the stray quote character"
        )
    close_chunk(scanner.consumed)
    if stats is not None:
        stats["blank"] = blank
    return chunks, records


def sample_confidences(head: bytes, header: Header, limit: int = SAMPLE_ROWS) -> list[float]:
    """Finite confidence values of the first data rows (to decide the file's confidence scale)."""
    text = head[header.data_start :].decode("utf-8", errors="replace")
    values: list[float] = []
    last_complete = max(text.rfind("\n"), text.rfind("\r"))
    for row in csv.reader(io.StringIO(text[: last_complete + 1], newline="")):
        if len(values) >= limit:
            break
        if len(row) > header.confidence_index:
            try:
                value = float(row[header.confidence_index].strip())
            except ValueError:
                continue
            if math.isfinite(value) and value >= 0:
                values.append(value)
    return values


def decide_scale(samples: list[float], configured: str) -> str:
    """``percent`` (0–100) or ``fraction`` (0–1) for the whole file: one scale per file."""
    if configured in ("percent", "fraction"):
        return configured
    return "fraction" if samples and max(samples) <= 1.0 else "percent"


def records(data: bytes) -> Iterator[tuple[list[str], bool]]:
    """Parse one chunk: yields (fields, valid_utf8) per record, blank records included as []."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # some lines are not UTF-8: find which, row by row
        text = data.decode("utf-8", errors="surrogateescape")
    else:  # all of it is UTF-8: no row needs checking
        for row in csv.reader(io.StringIO(text, newline="")):
            yield row, True
        return
    for row in csv.reader(io.StringIO(text, newline="")):
        valid = True
        for field in row:
            if not field.isascii():
                try:
                    field.encode("utf-8")
                except UnicodeEncodeError:
                    valid = False
                    break
        yield row, valid
