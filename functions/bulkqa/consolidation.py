"""Annotation consolidation: reviewers' answers -> per-image confirm/disconfirm counts.

The worker page has one ``crowd-checkbox`` per image, ``name="image-<item id>" value="correct"``,
pre-checked. ``crowd-form`` submits every box, checked or not:
``{"image-<id>": {"correct": true|false}, ...}``. The mapping back to images uses the id in each
name, never the order of keys (Ground Truth's documented example lists keys alphabetically). An
answer must name exactly the batch's images: the batch file name carries a digest of its members,
so checking an answer costs no read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import keys
from .errors import MalformedAnswer
from .verdict import CONFIRM, REJECT, UNREVIEWED, classify

if TYPE_CHECKING:
    from .model import ConsolidatedContent, ConsolidationEntry, ExcludedAnswer

ANSWER_PREFIX = "image-"
ANSWER_VALUE = "correct"


def verdicts_from_answer(content: object, batch: keys.BatchRef) -> dict[str, bool]:
    """One reviewer's answer -> {item id: confirmed?}; MalformedAnswer if it does not fit the batch."""
    if not isinstance(content, Mapping):
        raise MalformedAnswer("the answer is not a JSON object")
    verdicts: dict[str, bool] = {}
    for name, value in content.items():
        if not isinstance(name, str) or not name.startswith(ANSWER_PREFIX):
            continue  # other form elements (comments, future fields) carry no verdict
        item = name[len(ANSWER_PREFIX) :]
        if not keys.is_item_id(item):
            raise MalformedAnswer(f"answer field {name!r} does not name an image id")
        if not isinstance(value, Mapping) or not isinstance(value.get(ANSWER_VALUE), bool):
            raise MalformedAnswer(f"answer field {name!r} is not a checkbox state {{'correct': true|false}}")
        verdicts[item] = bool(value[ANSWER_VALUE])
    if not verdicts:
        raise MalformedAnswer("the answer has no image checkboxes")
    if keys.batch_digest(list(verdicts)) != batch.digest:
        raise MalformedAnswer(
            f"the answer's {len(verdicts)} images are not the images of batch {batch.batch_id}"
            " (it names an image not in the batch, or misses one)"
        )
    return verdicts


@dataclass(slots=True)
class ImageTally:
    """All reviewers' verdicts on one image of one task."""

    item_id: str
    reviewers: dict[str, str] = field(default_factory=dict)

    @property
    def confirms(self) -> int:
        return sum(1 for v in self.reviewers.values() if v == CONFIRM)

    @property
    def rejects(self) -> int:
        return sum(1 for v in self.reviewers.values() if v == REJECT)

    @property
    def verdict(self) -> str:
        return classify(self.confirms, self.rejects) or UNREVIEWED


@dataclass(slots=True)
class ObjectResult:
    """The consolidation of one data object (one batch)."""

    dataset_object_id: str
    batch: keys.BatchRef | None
    images: dict[str, ImageTally] = field(default_factory=dict)
    excluded: list[ExcludedAnswer] = field(default_factory=list)
    error: str | None = None

    def response_entry(self, label_attribute_name: str, unknown: Iterable[str] = ()) -> ConsolidationEntry:
        unknown_ids = sorted(set(unknown))
        content: ConsolidatedContent = {
            "batch_id": self.batch.batch_id if self.batch else None,
            "images": {
                item: {
                    "verdict": tally.verdict,
                    "confirms": tally.confirms,
                    "rejects": tally.rejects,
                    "reviewers": dict(sorted(tally.reviewers.items())),
                }
                for item, tally in sorted(self.images.items())
            },
            "excluded_answers": self.excluded,
            "unknown_images": unknown_ids,
        }
        if self.error:
            content["error"] = self.error
        return {
            "datasetObjectId": self.dataset_object_id,
            "consolidatedAnnotation": {"content": {label_attribute_name: content}},
        }


def _answer_content(annotation: Mapping[str, object], read_text: Callable[[str], str]) -> object:
    data = annotation.get("annotationData")
    if not isinstance(data, Mapping):
        raise MalformedAnswer("annotation has no annotationData")
    raw = data.get("content")
    if raw is None:
        uri = data.get("s3Uri") or data.get("s3uri")  # AWS's own sample spells it s3uri
        if not isinstance(uri, str):
            raise MalformedAnswer("annotationData has neither content nor s3Uri")
        raw = read_text(uri)
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MalformedAnswer(f"annotationData.content is not JSON ({exc.msg})") from exc
    return raw


def consolidate(payload: object, read_text: Callable[[str], str]) -> list[ObjectResult]:
    """Combine every reviewer's answer per data object. Never raises for one bad answer or object."""
    if not isinstance(payload, list):
        raise MalformedAnswer("the consolidation payload is not a JSON list")
    results: list[ObjectResult] = []
    for entry in payload:
        object_id = str(entry.get("datasetObjectId", "")) if isinstance(entry, Mapping) else ""
        try:
            if not isinstance(entry, Mapping):
                raise MalformedAnswer("payload entry is not an object")
            data_object = entry.get("dataObject") or {}
            uri = data_object.get("s3Uri") or data_object.get("s3uri") if isinstance(data_object, Mapping) else None
            if not isinstance(uri, str):
                raise MalformedAnswer("dataObject has no s3Uri of a batch file")
            batch = keys.parse_batch_uri(uri)
        except MalformedAnswer as exc:
            results.append(ObjectResult(object_id, None, error=str(exc)))
            continue
        result = ObjectResult(object_id, batch)
        annotations = entry.get("annotations") or []
        for annotation in annotations if isinstance(annotations, list) else []:
            worker = str(annotation.get("workerId", "unknown")) if isinstance(annotation, Mapping) else "unknown"
            try:
                if not isinstance(annotation, Mapping):
                    raise MalformedAnswer("annotation is not an object")
                verdicts = verdicts_from_answer(_answer_content(annotation, read_text), batch)
            except MalformedAnswer as exc:
                result.excluded.append({"workerId": worker, "reason": str(exc)})
                continue
            for item, confirmed in verdicts.items():
                tally = result.images.setdefault(item, ImageTally(item))
                tally.reviewers[worker] = CONFIRM if confirmed else REJECT
        results.append(result)
    return results
