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
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .errors import InvalidLabelFile

if TYPE_CHECKING:
    from .model import ChunkJSON, HeaderJSON

IMAGE_COLUMNS = ("image_local_path", "s3_image_url")
REQUIRED = ("label", "confidence")
HEADER_LIMIT = 10 * 1024  # as Step Functions' CSV reader: a header of at most 10 KiB
MAX_LABEL_CHARS = 256
MAX_KEY_BYTES = 1024  # S3's limit on a key, counted in UTF-8 bytes
SAMPLE_ROWS = 1000
SAMPLE_RECORD_LIMIT = 16 * 1024 * 1024  # scale detection gives up on a record longer than this

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
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
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
    end, in_quotes = _first_record_end(head[:HEADER_LIMIT])
    if end is None:
        if in_quotes:
            raise InvalidLabelFile(
                'the header opens a quoted field (") that is never closed; the first line must be the column '
                "names image_local_path (or s3_image_url), label and confidence: close the quote or remove it"
            )
        if len(head) >= HEADER_LIMIT:
            raise InvalidLabelFile(f"the header line is longer than {HEADER_LIMIT} bytes; is this a CSV file?")
        end = len(head)
    raw = head[:end]
    nul = raw.find(b"\x00")
    if nul >= 0:  # one rule for NUL bytes: in a data row it rejects the row, in the header the file
        if raw.count(b"\x00") * 3 >= len(raw):
            raise InvalidLabelFile(
                "the file is not a UTF-8 CSV: it looks like UTF-16 or binary data; save it as UTF-8 CSV"
            )
        raise InvalidLabelFile(
            f"the header contains a NUL byte (U+0000) at byte {nul + 1}; remove it and save the file as UTF-8 CSV"
        )
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
    if missing and any("\n" in c or "\r" in c for c in names):  # a quote closed lines later: do not echo the rows
        raise InvalidLabelFile(
            'the header opens a quoted field (") that runs over more than one line, so the needed columns are '
            "not found; close the quote on the first line or remove it"
        )
    if missing:
        raise InvalidLabelFile(
            f"the header is missing the column(s) {', '.join(missing)}; found {found}. "
            "The first line must name image_local_path (or s3_image_url), label and confidence, in any order"
        )
    if len(images) > 1:
        raise InvalidLabelFile("the header has both image_local_path and s3_image_url; keep one image column")
    return Header(names, images[0], seen[images[0]], seen["label"], seen["confidence"], end)


def _first_record_end(data: bytes) -> tuple[int | None, bool]:
    """Where the first record ends (None if not in ``data``), and whether a quoted field is still open."""
    scanner = _RecordScanner()
    for line in data.splitlines(keepends=True):
        if not line.endswith((b"\n", b"\r")):
            scanner.feed_line(line)
            return None, scanner.in_quotes
        if scanner.feed_line(line):
            return scanner.consumed, False
    return None, scanner.in_quotes


#: physical lines of text with their ends, split on CR, LF and CRLF only (as the csv module does)
_LINE_TEXT = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


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


# --- numbers as written --------------------------------------------------------------------------

#: plain ASCII decimal notation: a sign, digits with at most one point, an exponent
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}
_ZERO = Decimal(0)


def is_plain_decimal(text: str) -> bool:
    """Whether ``text`` is a number in plain ASCII decimal notation (what :func:`read_decimal` reads)."""
    if text.isascii() and text.replace(".", "", 1).isdigit():  # the common form, without the regex
        return True
    return _DECIMAL.fullmatch(text) is not None


def read_decimal(text: str, what: str = "confidence") -> Decimal:
    """The exact value of a number written in plain ASCII decimal notation, or ValueError saying why not.

    ``text`` is the field without the spaces and tabs around it. Forms only Python reads (``9_5``,
    Arabic-Indic or full-width digits, ``infinity``) are not numbers here; ``-0`` is 0.
    """
    if _DECIMAL.fullmatch(text):
        try:
            value = Decimal(text)
        except (InvalidOperation, OverflowError, ValueError):  # an exponent beyond what Decimal holds
            raise ValueError(f"{what} {text[:40]!r} is out of range") from None
        return value if value else _ZERO  # -0 is 0
    shown = repr(text[:40])
    if not text:
        raise ValueError(f"{what} is empty")
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise ValueError(f"{what} {shown} is not a finite number")
    if "," in text and text.replace(",", "", 1).isdigit():
        raise ValueError(f"{what} {shown} is not a number: use a decimal point (97.5), not a comma")
    if "_" in text:
        raise ValueError(f"{what} {shown} is not a number: remove the underscores")
    if any(ch.isdigit() or ch.isspace() for ch in text if not ch.isascii()):
        raise ValueError(f"{what} {shown} is not a number: write it with the ASCII digits 0-9 only")
    raise ValueError(f"{what} {shown} is not a number")


# --- the confidence scale --------------------------------------------------------------------------


def _record_texts(blocks: Iterable[bytes], at_end: list[bool], max_record: int = SAMPLE_RECORD_LIMIT) -> Iterator[str]:
    """The complete records in ``blocks`` (bytes from a record boundary), as text, in order.

    The last piece without a line end is a record only if ``at_end[0]`` says the blocks reached the end
    of the file; a record longer than ``max_record`` bytes ends the iteration.
    """
    scanner = _RecordScanner()
    carry = b""
    parts: list[bytes] = []
    size = 0
    for block in blocks:
        lines = (carry + block).splitlines(keepends=True)
        carry = b""
        if lines and (not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")):
            carry = lines.pop()  # incomplete, or a CR that may be the first half of CRLF
        for line in lines:
            parts.append(line)
            size += len(line)
            if scanner.feed_line(line):
                yield b"".join(parts).decode("utf-8", errors="replace")
                parts, size = [], 0
            elif size > max_record:
                return
        if len(carry) + size > max_record:
            return
    if carry and (at_end[0] or carry.endswith(b"\r")) and scanner.feed_line(carry):
        yield b"".join([*parts, carry]).decode("utf-8", errors="replace")


def sample_confidences(
    head: bytes,
    header: Header,
    limit: int = SAMPLE_ROWS,
    read_more: Callable[[int], bytes] | None = None,
) -> list[Decimal]:
    """The readable, non-negative confidences of the file's first ``limit`` records (to decide its scale).

    ``head`` is the start of the file; ``read_more(offset)`` returns the bytes of the file from
    ``offset`` on (a range of it; ``b""`` at the end), so the first ``limit`` records are read wherever
    they lie, however long the first rows are. Without it only the complete records in ``head`` count.
    """

    at_end = [False]

    def blocks() -> Iterator[bytes]:
        yield head[header.data_start :]
        offset = max(len(head), header.data_start)
        while read_more is not None:
            more = read_more(offset)
            if not more:
                at_end[0] = True
                return
            offset += len(more)
            yield more

    values: list[Decimal] = []
    index = header.confidence_index
    for seen, text in enumerate(_record_texts(blocks(), at_end)):
        if seen >= limit:
            break
        try:
            row = next(csv.reader([text]), [])
        except csv.Error:
            continue
        if len(row) > index:
            try:
                value = read_decimal(row[index].strip(" \t"))
            except ValueError:
                continue
            if value >= 0:
                values.append(value)
    return values


def decide_scale(samples: Iterable[Decimal | float], configured: str) -> str:
    """``percent`` (0–100) or ``fraction`` (0–1) for the whole file: one scale per file.

    ``auto``: ``fraction`` when every sampled confidence is at most 1 (a file of ``0`` and ``1`` only is
    read as fractions), else ``percent``; a file without a readable confidence is ``percent``.
    """
    if configured in ("percent", "fraction"):
        return configured
    values = list(samples)
    return "fraction" if values and max(values) <= 1 else "percent"


def records(data: bytes) -> Iterator[tuple[list[str], str | None]]:
    """Parse one chunk: yields (fields, problem) per record, blank records included as [].

    ``problem`` says why the record cannot be read as written (None for most): it is not UTF-8, it
    contains a NUL byte, or its quoting is malformed (text after a closing quote, a quote inside an
    unquoted field, a space before an opening quote), which the csv module would silently rewrite.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # some lines are not UTF-8: find which, row by row
        text = data.decode("utf-8", errors="surrogateescape")
        utf8 = False
    else:
        utf8 = True
    if utf8 and '"' not in text and "\x00" not in text:  # the common case: nothing to check per record
        for row in csv.reader(io.StringIO(text, newline="")):
            yield row, None
        return
    lines = _LINE_TEXT.findall(text)
    reader = csv.reader(lines)
    used = 0
    for row in reader:
        raw = "".join(lines[used : reader.line_num])
        used = reader.line_num
        yield row, record_problem(raw, row, utf8)


def record_problem(raw: str, row: list[str], utf8: bool = True) -> str | None:
    """Why the record ``raw`` (parsed as ``row``) cannot be read as written, or None."""
    if not utf8 and not raw.isascii():
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            return "the line is not valid UTF-8 text; save the file as UTF-8"
    nul = raw.find("\x00")
    if nul >= 0:
        return f"the line contains a NUL byte (U+0000) at character {nul + 1}; remove it"
    if '"' in raw:
        return _quoting_problem(raw.rstrip("\r\n"))
    return None


def _quoting_problem(raw: str) -> str | None:
    """Malformed quoting in one record's text (line end removed), named with the field it is in."""
    field, state, start = 1, 0, 0  # state: 0 start of field, 1 unquoted, 2 quoted, 3 quote inside quoted
    for position, ch in enumerate(raw):
        if state == 0:
            start = position
            state = 2 if ch == '"' else (0 if ch == "," else 1)
            field += ch == ","
        elif state == 1:
            if ch == ",":
                state, field = 0, field + 1
            elif ch == '"':
                if not raw[start:position].strip(" \t"):
                    return (
                        f"malformed quoting in field {field}: a space before the opening quote; "
                        "a quoted field must start with the quote, so remove the space"
                    )
                return (
                    f'malformed quoting in field {field}: a quote (") inside a field that is not quoted; '
                    'quote the whole field and double the quote inside it ("12"" vinyl")'
                )
        elif state == 2:
            if ch == '"':
                state = 3
        elif ch == '"':
            state = 2
        elif ch == ",":
            state, field = 0, field + 1
        else:
            return (
                f"malformed quoting in field {field}: text after the closing quote; "
                'quote the whole field and write a quote inside it as two ("")'
            )
    return None
