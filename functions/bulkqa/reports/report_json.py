"""report.json: the report object as JSON text, through the ``json`` module."""

from __future__ import annotations

import json

from ..report_types import Report


def render_json(report: Report) -> str:
    """Deterministic JSON text of the report (no timestamps; key order as built)."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"
