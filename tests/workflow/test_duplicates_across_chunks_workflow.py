"""Duplicates across chunks through the whole workflow (#17, point 3): one category per (image, label).

The file is cut into chunks of IngestChunkBytes = 1024 (the smallest the template allows), so the copies
of a pair land in different chunks. The first copy in file order decides: the pair is reviewed only if
that copy was accepted, and the report reviews every accepted row once and nothing else.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers

pytestmark = pytest.mark.slow

FILLER = [f"beaver/image_{n:04d}.jpg,Beaver,{60 + n % 40}" for n in range(1, 81)]  # ~2.5 KB: three chunks
ROWS = [
    "crab/a.jpg,Crab,10.50",  # line 2: below the minimum: the pair is below the minimum
    "crab/b.jpg,Crab,90",  # line 3: accepted: the pair is accepted
    *FILLER,  # lines 4..83
    "crab/a.jpg,Crab,99",  # line 84: a later copy above the minimum, two chunks on: a duplicate of line 2
    "crab/b.jpg,Crab,20",  # line 85: a later copy below the minimum: a duplicate of line 3
]


def test_the_first_copy_decides_across_chunks_through_the_workflow() -> None:
    data = ("image_local_path,label,confidence\n" + "\n".join(ROWS) + "\n").encode("utf-8")
    assert len(data) > 2 * 1024
    with LocalCloud(
        {"IngestChunkBytes": "1024", "MinConfidence": "50", "CompletionCheckSeconds": "300"},
        reviewers=SimulatedReviewers(seed=3),
    ) as cloud:
        cloud.upload("incoming/copies.csv", data)
        (execution,) = cloud.wait_for_executions(1, timeout=300)
        assert execution["status"] == "SUCCEEDED", execution.get("cause")
        output = json.loads(execution["output"])
        run_id = output["run_id"]
        s3 = cloud.client("s3")

        def read(key: str) -> str:
            return bytes(s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read()).decode("utf-8")

        chunks = json.loads(read(f"runs/{run_id}/ingest/chunks.json"))
        report = json.loads(read(f"reports/{run_id}/report.json"))
        rejected = {int(r["line"]): r for r in csv.DictReader(io.StringIO(read(f"reports/{run_id}/rejected.csv")))}
        corrected = [json.loads(line) for line in read(f"reports/{run_id}/corrected-labels.jsonl").split("\n") if line]
    assert len(chunks) >= 3
    rows = report["rows"]
    assert rows == {"total": 84, "accepted": 81, "rejected": 2, "below_min_confidence": 1}
    assert rejected[2]["reason"] == "confidence 10.50 is below the minimum confidence (counted, not reviewed)"
    assert rejected[2]["confidence"] == "10.50"
    assert rejected[84]["reason"] == "duplicate of line 2 (same image and label); the first one is kept"
    assert rejected[85]["reason"] == "duplicate of line 3 (same image and label); the first one is kept"
    assert rejected[85]["confidence"] == "20"
    # every accepted row reviewed once, nothing else: the below-minimum pair is not reviewed, not unreviewed
    assert report["totals"]["total"] + report["totals"]["unreviewed"] == rows["accepted"]
    assert report["totals"]["unreviewed"] == 0
    crab = next(c for c in report["classes"] if c["label"] == "Crab")
    assert crab["total"] == 1
    assert [item["image"] for item in corrected if item["label"] == "Crab"] == [f"s3://{cloud.bucket}/crab/b.jpg"]
    assert all(item["confidence"] >= 50 for item in corrected)
