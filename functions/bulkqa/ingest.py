"""Ingest: validate the rows of one chunk and build the labels-table items.

Every record of the chunk ends up in exactly one place: accepted (an item), rejected (with its line
number and the reason), below the minimum confidence (counted), or blank (not a row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import batching, csvfile, keys, labelpolicy
from .rows import AcceptedRow, BelowMinRow, RejectedRow

if TYPE_CHECKING:
    from .model import ChunkResultJSON, LabelItem

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_DOT_SEGMENT = re.compile(r"(?:^|[\\/])\.{1,2}(?:[\\/]|$)")
_RAW_LIMIT = 300  # characters of a rejected row kept in rejected.csv


@dataclass(frozen=True, slots=True)
class Rules:
    """What makes a row acceptable in this run."""

    bucket: str  # the stack's bucket: image_local_path keys live here
    image_bucket: str  # another bucket s3_image_url may point at ("" for none)
    min_confidence: float  # on the 0–100 scale
    scale: str  # "percent" or "fraction": one scale per file


@dataclass(slots=True)
class ChunkResult:
    chunk: int
    first_line: int
    rows: int = 0
    blank: int = 0
    accepted: list[AcceptedRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    below_min: list[BelowMinRow] = field(default_factory=list)

    def to_json(self) -> ChunkResultJSON:
        return {
            "chunk": self.chunk,
            "first_line": self.first_line,
            "rows": self.rows,
            "blank": self.blank,
            "counts": {
                "accepted": len(self.accepted),
                "rejected": len(self.rejected),
                "below_min_confidence": len(self.below_min),
            },
            "accepted": self.accepted,
            "rejected": self.rejected,
            "below_min": self.below_min,
        }

    @classmethod
    def from_json(cls, data: Any) -> ChunkResult:
        """A chunk result read back from S3 (``json.loads`` of what :meth:`to_json` wrote)."""
        return cls(
            int(data["chunk"]),
            int(data["first_line"]),
            int(data["rows"]),
            int(data["blank"]),
            [AcceptedRow(*row) for row in data["accepted"]],
            [RejectedRow(*row) for row in data["rejected"]],
            [BelowMinRow(*row) for row in data["below_min"]],
        )


def image_uri(value: str, column: str, rules: Rules) -> str:
    """The s3:// URI of an image reference, or ValueError saying why it is not allowed."""
    if not value:
        raise ValueError(f"{column} is empty")
    if _CONTROL.search(value):
        raise ValueError(f"{column} contains control characters")
    if value.startswith("s3://"):
        try:
            bucket, key = keys.parse_s3_uri(value)
        except ValueError:
            raise ValueError(f"{column} {value!r} is not a complete s3://bucket/key URI") from None
        allowed = {rules.bucket, rules.image_bucket} - {""}
        if bucket not in allowed:
            raise ValueError(
                f"image bucket {bucket!r} is not one the stack may read (allowed: {', '.join(sorted(allowed))}); "
                "copy the image there or set the ImageBucketName parameter"
            )
    elif value[:5].lower() == "s3://":
        raise ValueError(f"{column} {value[:60]!r} starts with {value[:5]!r}: the scheme must be lower-case s3://")
    elif ":" in value and ("://" in value or value.lower().startswith(("http:", "https:", "file:", "data:"))):
        raise ValueError(f"{column} {value!r} is a URL; give an S3 key or an s3:// URI")
    elif column == "s3_image_url":
        raise ValueError(f"s3_image_url {value!r} is not an s3:// URI")
    else:
        if value.startswith(("/", "\\")) or (":" in value and _WINDOWS_DRIVE.match(value)):
            raise ValueError(f"image_local_path {value!r} is an absolute path; give the key under the bucket")
        key = value[2:] if value.startswith("./") else value
        bucket = rules.bucket
    # a '.' or '..' segment always has a separator or the end right after its dots
    if ("./" in key or ".\\" in key or key.endswith(".")) and _DOT_SEGMENT.search(key):
        raise ValueError(f"{column} {value!r} contains '.' or '..' path segments")
    if not key or key.endswith("/"):
        raise ValueError(f"{column} {value!r} does not name an object")
    # S3 counts a key's length in UTF-8 bytes: up to 4 per character, so a key of at most 256 is short enough
    size = len(key) if len(key) <= csvfile.MAX_KEY_BYTES // 4 else len(key.encode("utf-8", errors="replace"))
    if size > csvfile.MAX_KEY_BYTES:
        raise ValueError(f"{column} names a key of {size} bytes (UTF-8); S3 keys are at most {csvfile.MAX_KEY_BYTES}")
    if bucket == rules.bucket and key.startswith(keys.STACK_PREFIXES):
        prefix = keys.stack_prefix_of(key)
        if prefix:
            raise ValueError(
                f"{column} {value[:60]!r} is under {prefix}, where the stack keeps its own files; "
                "images must live elsewhere in the bucket"
            )
    return f"s3://{bucket}/{key}"


def confidence_decimal(raw: str, scale: str) -> Decimal:
    """The exact confidence on the 0–100 scale, read from the text as written, or ValueError saying why not.

    Only plain ASCII decimal notation is a number (``csvfile.read_decimal``). In a ``fraction`` file
    the value is multiplied by 100 exactly (``0.57`` is 57); in a ``percent`` file a value strictly
    between 0 and 1 is refused as a sign of mixed scales (``1`` is 1 %, ``0`` is 0).
    """
    text = raw.strip(" \t")
    value = csvfile.read_decimal(text)
    shown = text if len(text) <= 40 else text[:40] + "…"
    if value < 0:
        raise ValueError(f"confidence {shown} is negative")
    if scale == "fraction":
        if value > 1:
            raise ValueError(
                f"confidence {shown} is above 1, but this file uses the 0–1 scale (decided from its first rows)"
            )
        if not value:
            return value
        sign, digits, exponent = value.as_tuple()
        return Decimal((sign, digits, int(exponent) + 2))  # x 100, exactly
    if value > 100:
        raise ValueError(f"confidence {shown} is above 100")
    if 0 < value < 1:
        raise ValueError(
            f"confidence {shown} looks like the 0–1 scale, but this file uses 0–100 (decided from its first rows); "
            "use one scale per file"
        )
    return value


def _confidence(text: str, scale: str, minimum: Decimal, minimum_float: float) -> tuple[float, bool]:
    """The stored confidence and whether it is below the minimum, decided exactly on the decimal text.

    The fast path for a percent value strictly between 1 and 100 that is not the minimum's float: the
    nearest float is monotonic in the exact value, so comparing floats that differ gives the exact
    answer, and ``float(text)`` is the nearest float, as ``float(Decimal(text))``. Every other value
    (ties, edges, the fraction scale, refused text) takes the exact Decimal path.
    """
    if scale == "percent" and csvfile.is_plain_decimal(text):
        value = float(text)
        if 1.0 < value < 100.0 and value != minimum_float:
            return value, value < minimum_float
    exact = confidence_decimal(text, scale)
    return float(exact), exact < minimum


def confidence_value(raw: str, scale: str) -> float:
    """Confidence on the 0–100 scale as stored (the float nearest the exact value), or ValueError."""
    return float(confidence_decimal(raw, scale))


def _raw(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _too_many_fields(row: list[str], width: int, confidence_index: int) -> str:
    reason = f"the line has {len(row)} fields but the header has {width}"
    if (
        len(row) == width + 1
        and confidence_index + 1 < len(row)
        and row[confidence_index].strip().isdecimal()
        and row[confidence_index + 1].strip().isdecimal()
    ):
        written = f"{row[confidence_index].strip()},{row[confidence_index + 1].strip()}"
        return f"{reason}: is {written} a confidence with a decimal comma? Use a decimal point, or quote the field"
    return f"{reason}; quote fields that contain commas"


def validate_chunk(data: bytes, chunk: int, first_line: int, header: csvfile.Header, rules: Rules) -> ChunkResult:
    """Validate every record of one chunk (bytes that start and end on record boundaries).

    Within the chunk the first copy of an (image, label) in file order decides: every later copy that
    has the same image and the same label (after ``labelpolicy.normalise_label``) is rejected as a
    duplicate of that line, whatever its confidence, even one that cannot be read. A copy rejected for
    a fault of its own (its image, label or confidence) is not a first copy. A row rejected for its
    confidence alone carries its item id (``RejectedRow.item_id``), so that make_batches applies the
    same rule across chunks; every other rejected row has ``""``.
    """
    result = ChunkResult(chunk, first_line)
    width = len(header.columns)
    image_index, label_index, confidence_index = header.image_index, header.label_index, header.confidence_index
    minimum_float = float(rules.min_confidence)
    minimum = Decimal(repr(minimum_float))
    normalise, scale = labelpolicy.normalise_label, rules.scale
    percent = scale == "percent"
    seen: dict[str, int] = {}
    for offset, (row, problem) in enumerate(csvfile.records(data)):
        line = first_line + offset
        if not row or (len(row) == 1 and not row[0].strip()):
            result.blank += 1
            continue
        result.rows += 1
        if len(row) == width:  # the common case, without _raw's bounds checks
            image_raw = row[image_index].strip()
            label_raw = row[label_index]
            conf_raw = row[confidence_index].strip(" \t")
        else:
            image_raw = _raw(row, image_index)
            label_raw = row[label_index] if label_index < len(row) else ""
            conf_raw = row[confidence_index].strip(" \t") if confidence_index < len(row) else ""
        try:
            if problem:
                raise ValueError(problem)
            if len(row) > width and any(f.strip() for f in row[width:]):
                raise ValueError(_too_many_fields(row, width, confidence_index))
            if len(row) < width:
                raise ValueError(f"the line has {len(row)} fields but the header has {width}")
            uri = image_uri(image_raw, header.image_column, rules)
            label = label_raw.strip(" ")  # labelpolicy's ASCII fast path, inlined: most labels are plain ASCII
            if not (label_raw.isascii() and label and label.isprintable()):
                label = normalise(label_raw)
            if len(label) > csvfile.MAX_LABEL_CHARS:
                raise ValueError(f"label is {len(label)} characters long; at most {csvfile.MAX_LABEL_CHARS}")
            item = keys.item_id(uri, label)
            if item in seen:
                raise ValueError(batching.duplicate_reason(seen[item]))
        except ValueError as exc:
            result.rejected.append(RejectedRow(line, str(exc), _clip(image_raw), _clip(label_raw), _clip(conf_raw)))
            continue
        try:
            if percent and conf_raw.isascii() and conf_raw.replace(".", "", 1).isdigit():  # _confidence's fast path
                confidence = float(conf_raw)
                if 1.0 < confidence < 100.0 and confidence != minimum_float:
                    below = confidence < minimum_float
                else:
                    confidence, below = _confidence(conf_raw, scale, minimum, minimum_float)
            else:
                confidence, below = _confidence(conf_raw, scale, minimum, minimum_float)
        except ValueError as exc:  # rejected for its confidence alone: make_batches needs its (image, label)
            result.rejected.append(
                RejectedRow(line, str(exc), _clip(image_raw), _clip(label_raw), _clip(conf_raw), item)
            )
            continue
        seen[item] = line
        if below:
            result.below_min.append(BelowMinRow(line, item, image_raw, label, confidence, conf_raw))
            continue
        result.accepted.append(AcceptedRow(line, item, uri, image_raw, label, confidence, conf_raw))
    return result


def _clip(text: str) -> str:
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "…"


def label_item(run_id: str, accepted: AcceptedRow) -> LabelItem:
    """The labels-table item of an accepted row (2019 attribute names kept)."""
    line, item, uri, image, label, confidence = accepted[:6]  # robust to fields added after these
    return {
        "run_partition": keys.partition(run_id, item),
        "item_id": item,
        "run_id": run_id,
        "s3_image_url": uri,
        "image": image,
        "label": label,
        "confidence": confidence,
        "line": line,
    }
