"""One odd label cannot sink a run (#17, point 1), and a failed job says why.

U+2028, U+2029 and U+0085 are valid in JSON strings, but ``str.splitlines()`` and many JSON Lines
readers break a line on them. A label holding one used to split its manifest line, and the local Ground
Truth failed the whole labeling job, losing every row, with the message ``LabelingJobFailed: None``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.demo import run_demo

pytestmark = pytest.mark.slow

BREAKERS = ["\u2028", "\u2029", "\u0085"]
ROWS = [
    "beaver/image_0001.jpg,Beaver,97.5",
    *(f"beaver/image_000{n + 2}.jpg,Bea{ch}ver,9{n + 1}" for n, ch in enumerate(BREAKERS)),  # labels
    *(f"beaver/image{ch}_000{n + 5}.jpg,Beaver,9{n + 4}" for n, ch in enumerate(BREAKERS)),  # image names
    f'beaver/image_0008.jpg,"Beaver,{BREAKERS[0]} North",88',  # quoted, with a comma
]


def test_labels_and_image_names_with_line_separators_never_sink_the_run(tmp_path: Path) -> None:
    path = tmp_path / "separators.csv"
    path.write_bytes(("image_local_path,label,confidence\n" + "\n".join(ROWS) + "\n").encode("utf-8"))
    result = run_demo(csv_path=path, out=tmp_path / "out")
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    report = result.report
    assert report is not None
    rows = report["rows"]
    assert rows["total"] == len(ROWS)
    assert rows["accepted"] + rows["rejected"] + rows["below_min_confidence"] == rows["total"]
    out = tmp_path / "out"
    rejected = {int(r["line"]): r for r in csv.DictReader(io.StringIO((out / "rejected.csv").read_text("utf-8")))}
    assert len(rejected) == rows["rejected"] + rows["below_min_confidence"]
    # every row is accounted for: reviewed under its own label, or listed with a reason naming the character
    reviewed = {c["label"]: c["total"] for c in report["classes"]}
    assert sum(reviewed.values()) == rows["accepted"]
    for line, text in enumerate(ROWS, start=2):
        label = next(csv.reader([text]))[1]
        if line in rejected:
            odd = [ch for ch in BREAKERS if ch in label]
            assert odd, (line, rejected[line]["reason"])  # only a label policy may refuse these rows
            assert f"{ord(odd[0]):04x}" in rejected[line]["reason"].lower(), rejected[line]["reason"]
        else:
            assert label in reviewed, (line, label)
    assert rows["accepted"] >= 4  # the image names with separators are reviewed like any other
    # every JSON Lines file of the run has one record per physical line, whatever reader splits it
    for name in ("corrected-labels.jsonl", "function-logs.jsonl"):
        text = (out / name).read_text("utf-8")
        assert text.splitlines() == text.split("\n")[:-1], name
        for line in text.splitlines():
            json.loads(line)


def test_a_failed_jobs_reason_is_the_workflow_errors_cause(tmp_path: Path) -> None:
    seen: list[LocalCloud] = []

    def fail(cloud: LocalCloud) -> None:
        seen.append(cloud)
        cloud.ground_truth.fail_reason = "ClientError: the work team no longer exists"

    result = run_demo(
        csv_path=Path(__file__).parents[2] / "local/bulkqa_local/data/smallsample.csv", out=tmp_path, cloud_hook=fail
    )
    assert (result.status, result.error) == ("FAILED", "LabelingJobFailed")
    assert result.cause and "the work team no longer exists" in result.cause, result.cause
    assert "labeling job bulkqa-smallsample-" in result.cause
    (execution,) = result.executions
    assert "the work team no longer exists" in str(execution.get("cause")), execution
