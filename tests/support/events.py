"""The one place tests read ``events/*.json``: the sample events ``sam local invoke -e`` also uses.

    event = load_event("pre_labeling")                          # as stored
    event = load_event("pre_labeling", bucket=cloud.bucket)     # pointed at a local stack's bucket
    payload = load_json("post_labeling_payload", run_id="r-1")  # any events/ file, list or object

The sample events name the bucket ``EXAMPLE_BUCKET`` and the run ``EXAMPLE_RUN_ID`` (the run of
``incoming/sample.csv`` in that bucket). ``bucket=`` and ``run_id=`` replace them everywhere in the
file's text, so a test can aim an event at its own stack and keep its runs apart. Item ids are never
rewritten: they are opaque to the handlers, which look items up by id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
EXAMPLE_BUCKET = "bulk-label-qa-labelsbucket-example"
EXAMPLE_RUN_ID = "sample-84f010a70d"


def event_path(name: str) -> Path:
    return EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")


def event_names() -> list[str]:
    """Every sample event file, without the ``.json`` suffix."""
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json"))


def load_json(name: str, *, bucket: str | None = None, run_id: str | None = None) -> Any:
    """Any ``events/<name>.json`` (a list or an object), optionally re-aimed at a bucket and run id."""
    text = event_path(name).read_text(encoding="utf-8")
    if bucket is not None:
        text = text.replace(EXAMPLE_BUCKET, bucket)
    if run_id is not None:
        text = text.replace(EXAMPLE_RUN_ID, run_id)
    return json.loads(text)


def load_event(name: str, *, bucket: str | None = None, run_id: str | None = None) -> dict[str, Any]:
    """The event ``events/<name>.json`` as a dict (a fresh copy each call)."""
    event = load_json(name, bucket=bucket, run_id=run_id)
    if not isinstance(event, dict):
        raise TypeError(f"events/{name}.json is not a JSON object; use load_json for lists")
    return event
