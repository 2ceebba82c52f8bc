"""The rows of an uploaded file, as validation sorts them (``bulkqa.ingest``).

``NamedTuple``s: a chunk result writes them to S3 as JSON arrays (a named tuple serialises as one),
make_batches reads them back with ``Row(*values)``; the steps read them by name.
"""

from __future__ import annotations

from typing import NamedTuple


class AcceptedRow(NamedTuple):
    """A row that passed validation (a chunk result's ``accepted`` entry)."""

    line: int
    item_id: str
    s3_uri: str
    image: str  # as written in the file
    label: str
    confidence: float  # on the 0-100 scale
    confidence_text: str = ""  # as written in the file (a later copy's rejected.csv line shows it)


class RejectedRow(NamedTuple):
    """A row that was not accepted: one line of rejected.csv (values clipped, as written).

    ``item_id`` is set when the row's image and label were valid and only its confidence was at fault:
    such a row is never the first copy of its (image, label), but a later copy of an earlier one is a
    duplicate of that line, whatever its confidence, and make_batches can tell so across chunks. It is
    ``""`` for every other row (never written to rejected.csv).
    """

    line: int
    reason: str
    image: str
    label: str
    confidence: str
    item_id: str = ""


class BelowMinRow(NamedTuple):
    """A valid row below the minimum confidence: counted, not reviewed (listed in rejected.csv as written).

    It carries its item id so that make_batches can settle duplicates across chunks by file order, whatever
    category the first copy fell in.
    """

    line: int
    item_id: str
    image: str
    label: str
    confidence: float  # on the 0-100 scale
    confidence_text: str  # as written in the file
