"""From a reviewer's clicks in a real browser to the counts in DynamoDB.

The batch file goes through the real pre_labeling handler, the page is rendered from its taskInput,
a reviewer unchecks two images in headless Chromium (with the local stand-in for AWS's
crowd-html-elements.js, which cannot be loaded offline), and the submitted answer goes through the
real post_labeling handler in Ground Truth's consolidation request shape. Exactly those two images
must end up disconfirmed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bulkqa import ingest
from bulkqa.adapters.dynamodb import LabelsTable
from bulkqa.rows import AcceptedRow
from bulkqa_local.cloud import LocalCloud
from tests.support.batches import make_batch
from tests.support.browser import Reviewer

pytestmark = pytest.mark.browser


def test_two_unchecked_images_become_two_disconfirmed_items(
    browser: Any, cloud: LocalCloud, invoke: Callable[[str, Any], Any]
) -> None:
    s3 = cloud.client("s3")
    batch = make_batch(25, bucket=cloud.bucket)
    run_id = batch.ref.run_id
    s3.put_object(Bucket=cloud.bucket, Key=batch.ref.key, Body=json.dumps(batch.doc).encode())
    labels = LabelsTable(cloud.client("dynamodb"), cloud.table("LabelsTable"))
    labels.put_items(
        ingest.label_item(
            run_id, AcceptedRow(i["line"], i["id"], i["s3_uri"], i["image"], batch.doc["label"], i["confidence"])
        )
        for i in batch.doc["items"]
    )
    job_arn = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/bulkqa-browser-test-p00"
    pre = invoke(
        "PreLabelingFunction",
        {
            "version": "2018-10-16",
            "labelingJobArn": job_arn,
            "dataObject": {"source-ref": batch.ref.uri},
        },
    )
    assert pre["taskInput"] == batch.task_input

    reviewer = Reviewer(browser, batch)
    try:
        wrong = {batch.ids[5], batch.ids[20]}
        reviewer.box(5).click()
        reviewer.box(20).click()
        reviewer.page.locator('crowd-button[form-action="submit"]').click()
        reviewer.page.wait_for_function("window.__crowdAnswer !== undefined")
        answer = reviewer.page.evaluate("window.__crowdAnswer")
        assert reviewer.errors == []
    finally:
        reviewer.close()

    output = "runs/browser/labeling-output/job/annotations/consolidated-annotation"
    payload_key = f"{output}/consolidation-request/iteration-1/0.json"
    s3.put_object(
        Bucket=cloud.bucket,
        Key=payload_key,
        Body=json.dumps(
            [
                {
                    "datasetObjectId": "0",
                    "dataObject": {"s3Uri": batch.ref.uri},
                    "annotations": [
                        {"workerId": "private.us-east-1.browser", "annotationData": {"content": json.dumps(answer)}}
                    ],
                }
            ]
        ).encode(),
    )
    response = invoke(
        "PostLabelingFunction",
        {
            "version": "2018-10-16",
            "labelingJobArn": job_arn,
            "labelAttributeName": "bulk-qa-verdicts",
            "roleArn": "arn:aws:iam::123456789012:role/labeling",
            "payload": {"s3Uri": f"s3://{cloud.bucket}/{payload_key}"},
        },
    )
    assert [entry["datasetObjectId"] for entry in response] == ["0"]
    items = {i["item_id"]: i for i in labels.run_items(run_id)}
    assert {k for k, v in items.items() if v.get("WorkerDisconfirmCount") == 1} == wrong
    assert {k for k, v in items.items() if v.get("WorkerConfirmCount") == 1} == set(batch.ids) - wrong
