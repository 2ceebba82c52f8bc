"""Step 7: the functions Ground Truth calls during a job, pre-labeling and annotation consolidation."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from .. import consolidation, keys, log, prelabel
from ..errors import InvalidEvent, MalformedBatch
from .common import get_path

if TYPE_CHECKING:
    from ..model import ConsolidationEntry, PreLabelingResult
    from ..ports import LabelsTable, RawEvent

#: Reads a whole object named by an ``s3://`` URI as UTF-8 text (any bucket the function may read).
ReadText = Callable[[str], str]


def pre_labeling(event: RawEvent, read_text: ReadText) -> PreLabelingResult:
    data_object = event.get("dataObject")
    uri = data_object.get("source-ref") if isinstance(data_object, Mapping) else None
    if not isinstance(uri, str):
        raise MalformedBatch("the data object has no source-ref to a batch file; was the manifest edited?")
    try:
        ref = keys.parse_batch_uri(uri)
    except Exception as exc:
        raise MalformedBatch(str(exc)) from exc
    try:
        batch: object = json.loads(read_text(uri))
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
        raise MalformedBatch(f"batch file {uri} is not JSON ({exc}); make_batches writes JSON objects") from exc
    except Exception as exc:  # the object is missing or unreadable
        raise MalformedBatch(f"cannot read batch file {uri}: {exc}") from exc
    return {"taskInput": prelabel.task_input(batch, ref), "isHumanAnnotationRequired": True}


def post_labeling(event: RawEvent, labels: LabelsTable, read_text: ReadText) -> list[ConsolidationEntry]:
    """Consolidate every reviewer's answer; one write per image; exactly one entry per data object."""
    attribute = event.get("labelAttributeName") or keys.LABEL_ATTRIBUTE_NAME
    job_arn = str(event.get("labelingJobArn") or "")
    payload_uri = get_path(event, "payload", "s3Uri")
    if not isinstance(payload_uri, str):
        raise InvalidEvent("the consolidation request has no payload.s3Uri")
    payload: object = json.loads(read_text(payload_uri))
    results = consolidation.consolidate(payload, read_text)
    job = job_arn.rsplit("/", 1)[-1]

    def write(result: consolidation.ObjectResult) -> ConsolidationEntry:
        unknown: list[str] = []
        if result.batch is not None:
            for tally in result.images.values():
                if not labels.set_verdicts(
                    result.batch.run_id,
                    tally.item_id,
                    tally.confirms,
                    tally.rejects,
                    tally.reviewers,
                    job,
                    result.batch.batch_id,
                ):
                    unknown.append(tally.item_id)
        for excluded in result.excluded:
            log.warning(
                "reviewer answer excluded",
                job=job,
                dataset_object=result.dataset_object_id,
                worker=excluded["workerId"],
                reason=excluded["reason"],
            )
        if unknown:
            log.warning("images not in the labels table; not created", job=job, items=unknown)
        if result.error:
            log.warning(
                "data object not consolidated", job=job, dataset_object=result.dataset_object_id, reason=result.error
            )
        return result.response_entry(str(attribute), unknown)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(write, results))
