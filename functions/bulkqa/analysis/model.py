"""What the analysis reads (a :class:`Verdict` per item), how it is told to analyse, and the bucket edges."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..report_types import Edge

#: Default bucket width of :func:`bucket_edges`.
BUCKET_WIDTH = 5.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The reviewers' verdict on one (image, label)."""

    image: str
    label: str
    confidence: float
    confirms: int
    rejects: int
    reviewers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RowCounts:
    """What happened to the input rows: total = accepted + rejected + below_min_confidence."""

    total: int
    accepted: int
    rejected: int
    below_min_confidence: int


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How to analyse. ``buckets`` are edges (None: :func:`bucket_edges` of ``min_confidence``)."""

    min_confidence: float = 0.0
    buckets: tuple[float, ...] | None = None
    max_fp_ratio: float = 0.1
    #: A bucket-walk decision resting on fewer reviewed items than this gets an evidence note.
    min_evidence: int = 10


def bucket_edges(min_confidence: float) -> tuple[float, ...]:
    """Default edges: ``min_confidence`` rounded down to a multiple of 5, then every 5 up to 100.

    The start is clamped to [0, 95] so that there is always at least one bucket.
    """
    if not math.isfinite(min_confidence):
        raise ValueError(f"min_confidence must be a finite number, not {min_confidence!r}")
    start = math.floor(min_confidence / BUCKET_WIDTH) * BUCKET_WIDTH
    start = min(max(start, 0.0), 100.0 - BUCKET_WIDTH)
    count = round((100.0 - start) / BUCKET_WIDTH)
    return tuple(start + BUCKET_WIDTH * i for i in range(count + 1))


def validate_edges(edges: Sequence[float]) -> tuple[float, ...]:
    """The edges as a tuple of floats; ValueError unless at least 2, strictly increasing, within 0-100."""
    out = tuple(float(e) for e in edges)
    if len(out) < 2:
        raise ValueError("buckets need at least two edges, for example 80,85,90,95,100")
    if not all(math.isfinite(e) for e in out):
        raise ValueError("bucket edges must be finite numbers")
    outside = [e for e in out if not 0.0 <= e <= 100.0]
    if outside:
        raise ValueError(
            f"bucket edge {edge(outside[0])} is outside 0-100: edges are confidences on the 0-100 scale, "
            "for example 80,85,90,95,100"
        )
    if any(b <= a for a, b in pairwise(out)):
        raise ValueError("bucket edges must be strictly increasing, for example 80,85,90,95,100")
    return out


def edge(value: float) -> Edge:
    """An edge as written in the report: an int when it is a whole number (80, not 80.0)."""
    return int(value) if float(value).is_integer() else value


def bucket_range(edges: Sequence[float], index: int) -> list[Edge]:
    """``[low, high]`` of bucket ``index`` as written in the report."""
    return [edge(edges[index]), edge(edges[index + 1])]
