"""The one time source of the self-hosted review code: every lease, expiry and availability decision reads
:func:`now`. The local cloud patches ``bulkqa.review.clock.now`` to move time forward, so callers must look
it up through the module (``clock.now()``), never bind it with ``from ... import now``."""

from __future__ import annotations

import time


def now() -> float:
    """Epoch seconds."""
    return time.time()
