"""What every step uses to read its event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import InvalidEvent

if TYPE_CHECKING:
    from ..ports import RawEvent


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def get_path(mapping: object, *path: str) -> object:
    """``mapping[path[0]][path[1]]...``, or None where a part is missing or not a mapping."""
    for part in path:
        if not isinstance(mapping, Mapping) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def require_str(event: RawEvent, name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"the step's input has no {name!r}; was the state machine changed?")
    return value
