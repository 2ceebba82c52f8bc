"""Pre-labeling: turn one batch file into the ``task.input`` of the worker page.

Ground Truth fails the whole labeling job when this function raises, so a malformed batch raises
``MalformedBatch`` with a message naming the file and the problem (make_batches never writes one).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import keys
from .errors import MalformedBatch

if TYPE_CHECKING:
    from .model import TaskImage, TaskInput

BATCH_FORMAT_VERSION = 1
MAX_BATCH_SIZE = 100


def task_input(batch: object, ref: keys.BatchRef) -> TaskInput:
    """Validate a batch document (parsed JSON, not trusted) and build the page's input.

    ``task.input`` = ``{"batch_id", "label", "image_count", "images": [{"id", "uri", "name",
    "confidence"}]}``. The page escapes every value; ids are 16 lower-case hex digits.
    """
    where = f"batch file {ref.uri}"
    if not isinstance(batch, dict):
        raise MalformedBatch(f"{where} is not a JSON object")
    if batch.get("version") != BATCH_FORMAT_VERSION:
        raise MalformedBatch(f"{where} has format version {batch.get('version')!r}, expected 1")
    label = batch.get("label")
    if not isinstance(label, str) or not label.strip():
        raise MalformedBatch(f"{where} has no label")
    items = batch.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_SIZE:
        raise MalformedBatch(f"{where} must list 1..{MAX_BATCH_SIZE} items")
    images: list[TaskImage] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise MalformedBatch(f"{where}: item {n} is not an object")
        item_id, uri, name, conf = item.get("id"), item.get("s3_uri"), item.get("image"), item.get("confidence")
        if not isinstance(item_id, str) or not keys.is_item_id(item_id):
            raise MalformedBatch(f"{where}: item {n} has no valid id")
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise MalformedBatch(f"{where}: item {n} has no s3:// image URI")
        if not isinstance(conf, (int, float)) or isinstance(conf, bool) or not math.isfinite(conf):
            raise MalformedBatch(f"{where}: item {n} has no numeric confidence")
        images.append({"id": item_id, "uri": uri, "name": name if isinstance(name, str) else uri, "confidence": conf})
    ids = [image["id"] for image in images]
    if len(set(ids)) != len(ids):
        raise MalformedBatch(f"{where} lists an item twice")
    if keys.batch_digest(ids) != ref.digest:
        raise MalformedBatch(f"{where} does not hold the items its name says (digest mismatch)")
    return {"batch_id": ref.batch_id, "label": label, "image_count": len(images), "images": images}
