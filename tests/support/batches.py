"""Build batches exactly like make_batches does, for tests that need a batch, its ref and its page input.

    batch = make_batch(25)                      # 25 images labelled "Sea Turtle"
    batch.ids                                   # item ids, in batch order
    batch.ref                                   # bulkqa.keys.BatchRef parsed from the batch file's URI
    batch.doc                                   # the batch document written to S3
    batch.task_input                            # bulkqa.prelabel.task_input(batch.doc, batch.ref)

Image URIs are ``s3://<bucket>/images/<folder>/image_NNNN.jpg`` (Caltech-101 style names); ids are
``bulkqa.keys.item_id(uri, label)``, the digest ``bulkqa.keys.batch_digest(ids)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bulkqa import keys, prelabel
from bulkqa.model import BatchDocument, BatchItemJSON, TaskInput

DEFAULT_RUN_ID = "smallsample-0123456789"
DEFAULT_BUCKET = "bkt"


@dataclass(frozen=True)
class Batch:
    doc: BatchDocument
    ref: keys.BatchRef
    task_input: TaskInput

    @property
    def ids(self) -> list[str]:
        return [item["id"] for item in self.doc["items"]]

    @property
    def uris(self) -> list[str]:
        return [item["s3_uri"] for item in self.doc["items"]]

    @property
    def label(self) -> str:
        return str(self.doc["label"])


def image_names(count: int, folder: str = "hawksbill") -> list[str]:
    return [f"{folder}/image_{n:04d}.jpg" for n in range(1, count + 1)]


def build_batch(
    names: Sequence[str],
    label: str = "Sea Turtle",
    *,
    run_id: str = DEFAULT_RUN_ID,
    seq: int = 12,
    bucket: str = DEFAULT_BUCKET,
    confidences: Sequence[float] | None = None,
    first_line: int = 2,
) -> Batch:
    """One batch of the given image names (paths under ``images/``), as make_batches writes it."""
    items: list[BatchItemJSON] = []
    ids: list[str] = []
    for n, name in enumerate(names):
        uri = f"s3://{bucket}/images/{name}"
        ids.append(keys.item_id(uri, label))
        confidence = confidences[n] if confidences is not None else round(80 + (n * 7.31) % 20, 2)
        items.append(
            {
                "id": ids[-1],
                "image": name,
                "s3_uri": uri,
                "confidence": confidence,
                "line": first_line + n,
            }
        )
    digest = keys.batch_digest(ids)
    ref = keys.parse_batch_uri(f"s3://{bucket}/{keys.batch_key(run_id, seq, digest)}")
    doc: BatchDocument = {"version": 1, "run_id": run_id, "seq": seq, "label": label, "items": items}
    return Batch(doc=doc, ref=ref, task_input=prelabel.task_input(doc, ref))


def make_batch(count: int = 25, label: str = "Sea Turtle", **kwargs: Any) -> Batch:
    """A batch of ``count`` images (1..100) of one label."""
    return build_batch(image_names(count), label, **kwargs)
