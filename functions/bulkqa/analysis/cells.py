"""The counters the analysis keeps, and their typed views for the report.

Per class, a flat list of ints: ``_NF`` slots per cell, cells ``[below range, bucket 0..n-1, above
range]``; per number of reviews per item, four sums for reviewer agreement. The hot loop
(:meth:`bulkqa.analysis.accumulator.Accumulator.consume`) adds to these lists in place; the report reads
them through :class:`Cell` and :class:`RaterCounts`, built once per cell, never per verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

#: Slots of one cell: confirmed, disconfirmed, split, unreviewed, sum of the reviewed items' confidences.
C, D, S, U, SUM = 0, 1, 2, 3, 4
#: Slots per cell.
NF = 5
#: Confidence values are summed as integers in units of 1e-8 so that sums are exact and order-free.
CONF_SCALE = 100_000_000


class Cell(NamedTuple):
    """The counts of one class x bucket cell."""

    confirmed: int
    disconfirmed: int
    split: int
    unreviewed: int
    #: sum of the reviewed items' confidences, in units of 1 / CONF_SCALE
    conf_sum: int

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.disconfirmed + self.split

    @property
    def incorrect(self) -> int:
        return self.disconfirmed + self.split


def cell(cells: Sequence[int], index: int) -> Cell:
    """Cell ``index`` of a flat counter list (0 = below the range, n_buckets + 1 = above it)."""
    b = index * NF
    return Cell(cells[b], cells[b + D], cells[b + S], cells[b + U], cells[b + SUM])


class RaterCounts(NamedTuple):
    """The items with one given number of reviews (at least 2)."""

    items: int
    split_items: int
    confirm_votes: int
    #: sum over the items of c(c-1) + r(r-1): ordered pairs of reviewers that agree
    agreeing_pairs: int


class ReviewerCounts(NamedTuple):
    """One reviewer's votes and co-reviews."""

    reviews: int
    rejects: int
    #: co-reviewers (on the same items) who voted the same
    agreeing: int
    co_reviews: int
