"""Ingest: validate the rows of one chunk and build the labels-table items.

Every record of the chunk ends up in exactly one place: accepted (an item), rejected (with its line
number and the reason), below the minimum confidence (counted), or blank (not a row).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import csvfile, keys
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
    if len(value) > csvfile.MAX_IMAGE_CHARS:
        raise ValueError(f"{column} is {len(value)} characters long; S3 keys are at most 1024")
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
    return f"s3://{bucket}/{key}"


def confidence_value(raw: str, scale: str) -> float:
    """Confidence on the 0–100 scale, or ValueError saying why the value is not usable."""
    text = raw.strip()
    if not text:
        raise ValueError("confidence is empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"confidence {text[:40]!r} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"confidence {text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"confidence {text} is negative")
    if scale == "fraction":
        if value > 1:
            raise ValueError(
                f"confidence {text} is above 1, but this file uses the 0–1 scale (decided from its first rows)"
            )
        return value * 100.0
    if value > 100:
        raise ValueError(f"confidence {text} is above 100")
    if 0 < value < 1:
        raise ValueError(
            f"confidence {text} looks like the 0–1 scale, but this file uses 0–100 (decided from its first rows); "
            "use one scale per file"
        )
    return value


def _raw(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def validate_chunk(data: bytes, chunk: int, first_line: int, header: csvfile.Header, rules: Rules) -> ChunkResult:
    """Validate every record of one chunk (bytes that start and end on record boundaries)."""
    result = ChunkResult(chunk, first_line)
    width = len(header.columns)
    image_index, label_index, confidence_index = header.image_index, header.label_index, header.confidence_index
    seen: dict[str, int] = {}
    for offset, (row, valid_utf8) in enumerate(csvfile.records(data)):
        line = first_line + offset
        if not row or (len(row) == 1 and not row[0].strip()):
            result.blank += 1
            continue
        result.rows += 1
        if len(row) == width:  # the common case, without _raw's bounds checks
            image_raw = row[image_index].strip()
            label = row[label_index].strip()
            conf_raw = row[confidence_index].strip()
        else:
            image_raw = _raw(row, image_index)
            label = _raw(row, label_index)
            conf_raw = _raw(row, confidence_index)
        if "\r" in label:
            label = label.replace("\r\n", "\n").replace("\r", "\n")
        try:
            if not valid_utf8:
                raise ValueError("the line is not valid UTF-8 text; save the file as UTF-8")
            if len(row) > width and any(f.strip() for f in row[width:]):
                raise ValueError(
                    f"the line has {len(row)} fields but the header has {width}; quote fields that contain commas"
                )
            if len(row) < width:
                raise ValueError(f"the line has {len(row)} fields but the header has {width}")
            uri = image_uri(image_raw, header.image_column, rules)
            if not label:
                raise ValueError("label is empty")
            if len(label) > csvfile.MAX_LABEL_CHARS:
                raise ValueError(f"label is {len(label)} characters long; at most {csvfile.MAX_LABEL_CHARS}")
            if _CONTROL.search(label):
                raise ValueError("label contains control characters")
            confidence = confidence_value(conf_raw, rules.scale)
            item = keys.item_id(uri, label)
            if item in seen:
                raise ValueError(f"duplicate of line {seen[item]} (same image and label); the first one is kept")
        except ValueError as exc:
            result.rejected.append(RejectedRow(line, str(exc), _clip(image_raw), _clip(label), _clip(conf_raw)))
            continue
        seen[item] = line
        if confidence < rules.min_confidence:
            result.below_min.append(BelowMinRow(line, item, image_raw, label, confidence, conf_raw))
            continue
        result.accepted.append(AcceptedRow(line, item, uri, image_raw, label, confidence))
    return result


def _clip(text: str) -> str:
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "…"


def label_item(run_id: str, accepted: AcceptedRow) -> LabelItem:
    """The labels-table item of an accepted row (2019 attribute names kept)."""
    line, item, uri, image, label, confidence = accepted
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
