"""The verdict vocabulary, in one place: a reviewer's vote and an item's consolidated verdict.

A reviewer votes ``confirm`` (the box stayed checked) or ``reject`` (unchecked). An item's verdict
follows the blog post: confirmed = some reviewer confirmed and none rejected; disconfirmed = the
reverse; split = both; unreviewed = neither (an expired task, a stopped job).
"""

from __future__ import annotations

from typing import Final, Literal

Vote = Literal["confirm", "reject"]
Verdict = Literal["confirmed", "disconfirmed", "split"]

CONFIRM: Final = "confirm"
REJECT: Final = "reject"

CONFIRMED: Final = "confirmed"
DISCONFIRMED: Final = "disconfirmed"
SPLIT: Final = "split"
UNREVIEWED: Final = "unreviewed"


def classify(confirms: int, rejects: int) -> Verdict | None:
    """confirmed / disconfirmed / split, or None for an unreviewed item."""
    if confirms > 0:
        return SPLIT if rejects > 0 else CONFIRMED
    return DISCONFIRMED if rejects > 0 else None
