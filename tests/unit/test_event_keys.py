"""Defect 11 of #12: an upload whose S3 event carries the key URL-encoded is still read.

Whether EventBridge's "Object Created" events URL-encode the object key is not clearly documented (S3's
other notifications do), so the ingest steps read the key as given and, when no object has it, the key
decoded (``bulkqa.keys.resolve_upload``). Here the object is stored under its real name and the event
names it encoded, for keys with spaces, ``+`` and non-ASCII characters.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from bulkqa import steps
from bulkqa.model import ChunkJSON
from tests.support.fakes import FakeStack
from tests.unit.test_keys import ENCODED_KEYS

DATA = b"image_local_path,label,confidence\ncrab/1.jpg,Crab,99\ncrab/2.jpg,Crab,80\ndog/1.jpg,Dog,95.5\n"


@pytest.mark.parametrize(("real", "encoded"), ENCODED_KEYS)
def test_an_upload_named_encoded_in_its_event_is_ingested(real: str, encoded: str) -> None:
    world = FakeStack()
    event = world.upload_event(DATA, key=real)
    cast("dict[str, Any]", event["detail"])["object"]["key"] = encoded
    run = steps.register_run(event, world.stack, world.runs)
    plan = steps.plan_ingest(run, world.ingest_settings, world.store)
    assert plan["records"] == 3
    chunks = cast("list[ChunkJSON]", world.store.json(plan["plan_key"]))
    summaries = [
        steps.ingest_chunk({**run, "ingest": plan, "chunk": chunk}, world.ingest_settings, world.store, world.labels)
        for chunk in chunks
    ]
    assert sum(s["rows"] for s in summaries) == 3


@pytest.mark.parametrize(("real", "encoded"), ENCODED_KEYS[:1])
def test_a_key_as_given_is_still_read_as_given(real: str, encoded: str) -> None:
    world = FakeStack()
    _run, plan, summaries = world.ingest(DATA, key=encoded)  # an object really named with '+' or '%'
    assert plan["records"] == 3 and sum(s["rows"] for s in summaries) == 3
