"""Uploads named ``*.CSV`` in any case start a run (#12 point 3), through the template's own EventBridge rule."""

from __future__ import annotations

import json

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers

CSV = b"image_local_path,label,confidence\nbeaver/a.jpg,Beaver,90\nbeaver/b.jpg,Beaver,80\n"


def test_a_csv_extension_in_any_case_starts_a_run_and_other_names_do_not() -> None:
    with LocalCloud({"CompletionCheckSeconds": 300}, reviewers=SimulatedReviewers(seed=1)) as cloud:
        for key in ("incoming/upper.CSV", "incoming/mixed.Csv", "incoming/notes.txt", "elsewhere/other.CSV"):
            cloud.upload(key, CSV)
        executions = cloud.wait_for_executions(2, timeout=300)
        started = sorted(json.loads(e["input"])["detail"]["object"]["key"] for e in executions)
        assert started == ["incoming/mixed.Csv", "incoming/upper.CSV"]
        assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"], [e.get("error") for e in executions]
