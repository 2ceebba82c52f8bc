"""Bad input through the real workflow: a clear answer for every row, nothing lost.

One local stack takes every file of the corpus as a separate upload (a separate run each), exactly as
a user's bucket would. File problems fail the run with a named error; row problems are listed in
rejected.csv with line number and reason while the run goes on, and report.json.rows adds up.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pytest

from bulkqa_local.cloud import LocalCloud
from bulkqa_local.reviewers import SimulatedReviewers

pytestmark = pytest.mark.slow

H = "image_local_path,label,confidence\n"
GOOD = "beaver/image_0001.jpg,Beaver,97.5\nbeaver/image_0002.jpg,Beaver,91\n"


@dataclass
class Case:
    name: str
    data: bytes
    error: str | None = None  # a file problem: the run fails with this error
    rejected: dict[int, str] = field(default_factory=dict)  # line -> part of the reason
    rows: int | None = None  # data rows (report.json rows.total)
    accepted_labels: set[str] = field(default_factory=set)


def b(text: str) -> bytes:
    return text.encode("utf-8")


CASES = [
    # --- file problems: a named error and a message that says what to fix
    Case("empty", b"", error="InvalidLabelFile"),
    Case("header-only", b(H), error="InvalidLabelFile"),
    Case("missing-column", b("image_local_path,label\nbeaver/a.jpg,Beaver\n"), error="InvalidLabelFile"),
    Case("renamed-column", b("image_local_path,class,confidence\nbeaver/a.jpg,Beaver,90\n"), error="InvalidLabelFile"),
    Case(
        "duplicated-column",
        b("image_local_path,label,label,confidence\nbeaver/a.jpg,Beaver,Beaver,90\n"),
        error="InvalidLabelFile",
    ),
    Case("utf16", ("\ufeff" + H + GOOD).encode("utf-16"), error="InvalidLabelFile"),
    Case("unclosed-quote", b(H + GOOD + 'beaver/c.jpg,"Beaver,90\nbeaver/d.jpg,Beaver,90\n'), error="InvalidLabelFile"),
    Case(
        "two-image-columns",
        b("image_local_path,s3_image_url,label,confidence\na.jpg,s3://x/a.jpg,Beaver,90\n"),
        error="InvalidLabelFile",
    ),
    # --- layouts that are fine
    Case("extra-column", b("image_local_path,label,confidence,note\nbeaver/a.jpg,Beaver,90,ok\n"), rows=1),
    Case("reordered-columns", b("confidence,label,image_local_path\n90,Beaver,beaver/a.jpg\n"), rows=1),
    Case("bom", b("\ufeff" + H + GOOD), rows=2),
    Case("lf", b(H + GOOD), rows=2),
    Case("crlf", b((H + GOOD).replace("\n", "\r\n")), rows=2),
    Case("cr", b((H + GOOD).replace("\n", "\r")), rows=2),
    Case(
        "quoted-commas-and-newlines",
        # a quoted comma is part of the label; a quoted line break is refused by the label policy (#17)
        b(
            H
            + 'beaver/a.jpg,"Beaver, North American",90\n'
            + 'beaver/b.jpg,"Beaver\nwith a break",90\n'
            + "beaver/c.jpg,Beaver,x\n"
        ),
        rows=3,
        rejected={3: "U+000A", 4: "not a number"},
        accepted_labels={"Beaver, North American"},
    ),
    # U+2028, U+2029 and U+0085 never split a JSON Lines record: refused in a label, fine in an image name (#17)
    Case(
        "line-separator-label",
        b(H + GOOD + "beaver/c.jpg,Bea\u2028ver,90\nbeaver/d.jpg,Bea\u2029ver,90\nbeaver/e.jpg,Bea\u0085ver,90\n"),
        rows=5,
        rejected={4: "U+2028", 5: "U+2029", 6: "U+0085"},
    ),
    Case(
        "line-separator-image",
        b(H + GOOD + "beaver/c\u2028.jpg,Beaver,90\nbeaver/d\u2029.jpg,Beaver,90\nbeaver/e\u0085.jpg,Beaver,90\n"),
        rows=5,
        accepted_labels={"Beaver"},
    ),
    Case("blank-lines", b(H + "beaver/a.jpg,Beaver,90\n\n\nbeaver/b.jpg,Beaver,\n"), rows=2, rejected={5: "empty"}),
    Case("fraction-scale", b(H + "beaver/a.jpg,Beaver,0.97\nbeaver/b.jpg,Beaver,0.5\n"), rows=2),
    # --- row problems: the run goes on, the row is listed with its line and reason
    Case("non-utf8-row", b(H + GOOD) + b"beaver/c.jpg,Bi\xe8ber,90\n", rows=3, rejected={4: "UTF-8"}),
    Case("empty-label", b(H + GOOD + "beaver/c.jpg,,90\n"), rows=3, rejected={4: "label is empty"}),
    Case(
        "html-label",
        b(H + GOOD + "beaver/c.jpg,<script>alert(1)</script>,90\n"),
        rows=3,
        accepted_labels={"<script>alert(1)</script>"},
    ),
    Case("quotes-label", b(H + GOOD + 'beaver/c.jpg,"say ""cheese""",90\n'), rows=3, accepted_labels={'say "cheese"'}),
    Case(
        "liquid-label",
        b(H + GOOD + "beaver/c.jpg,{{ 7*7 }} {% raw %},90\n"),
        rows=3,
        accepted_labels={"{{ 7*7 }} {% raw %}"},
    ),
    Case("unicode-label", b(H + GOOD + "beaver/c.jpg,Bíber 🦫,90\n"), rows=3, accepted_labels={"Bíber 🦫"}),
    Case("nul-label", b(H + GOOD + "beaver/c.jpg,Bea\x00ver,90\n"), rows=3, rejected={4: "NUL"}),
    Case("control-label", b(H + GOOD + "beaver/c.jpg,Bea\x01ver,\x7f90\n"), rows=3, rejected={4: "U+0001"}),
    Case("long-label", b(H + GOOD + "beaver/c.jpg," + "L" * 1000 + ",90\n"), rows=3, rejected={4: "characters long"}),
    Case("confidence-empty", b(H + GOOD + "beaver/c.jpg,Beaver,\n"), rows=3, rejected={4: "confidence is empty"}),
    Case("confidence-text", b(H + GOOD + "beaver/c.jpg,Beaver,high\n"), rows=3, rejected={4: "not a number"}),
    Case("confidence-nan", b(H + GOOD + "beaver/c.jpg,Beaver,NaN\n"), rows=3, rejected={4: "finite"}),
    Case("confidence-inf", b(H + GOOD + "beaver/c.jpg,Beaver,inf\n"), rows=3, rejected={4: "finite"}),
    Case("confidence-negative", b(H + GOOD + "beaver/c.jpg,Beaver,-3\n"), rows=3, rejected={4: "negative"}),
    Case("confidence-above-100", b(H + GOOD + "beaver/c.jpg,Beaver,130\n"), rows=3, rejected={4: "above 100"}),
    Case("mixed-scales", b(H + GOOD + "beaver/c.jpg,Beaver,0.95\n"), rows=3, rejected={4: "0–1 scale"}),
    Case("empty-image", b(H + GOOD + ",Beaver,90\n"), rows=3, rejected={4: "empty"}),
    Case("dotdot-image", b(H + GOOD + "../secret/c.jpg,Beaver,90\n"), rows=3, rejected={4: "'..'"}),
    Case("absolute-image", b(H + GOOD + "/etc/c.jpg,Beaver,90\n"), rows=3, rejected={4: "absolute"}),
    Case("url-image", b(H + GOOD + "https://example.com/c.jpg,Beaver,90\n"), rows=3, rejected={4: "URL"}),
    Case(
        "foreign-bucket",
        b(H + GOOD + "s3://someone-elses-bucket/c.jpg,Beaver,90\n"),
        rows=3,
        rejected={4: "not one the stack may read"},
    ),
    Case(
        "duplicate-row", b(H + GOOD + "beaver/image_0001.jpg,Beaver,50\n"), rows=3, rejected={4: "duplicate of line 2"}
    ),
    Case(
        "very-long-line",
        b(H + GOOD + "beaver/c.jpg,Beaver,90," + "x" * 200_000 + "\n"),
        rows=3,
        rejected={4: "fields but the header has 3"},
    ),
    Case("too-many-fields", b(H + GOOD + "beaver/c.jpg,Beaver, North,90\n"), rows=3, rejected={4: "fields"}),
]


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    """Upload every case to one local stack and collect how each run ended."""
    out: dict[str, dict] = {}
    # no completion event is lost here: a long check interval keeps moto from polling timed-out waits
    with LocalCloud({"CompletionCheckSeconds": 300}, reviewers=SimulatedReviewers(seed=1)) as cloud:
        for case in CASES:
            cloud.upload(f"incoming/{case.name}.csv", case.data)
        executions = cloud.wait_for_executions(len(CASES), timeout=600)
        s3 = cloud.client("s3")

        def read(key: str) -> bytes | None:
            try:
                return bytes(s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read())
            except s3.exceptions.NoSuchKey:
                return None

        for execution in executions:
            key = json.loads(execution["input"])["detail"]["object"]["key"]
            name = key.removeprefix("incoming/").removesuffix(".csv")
            output = json.loads(execution.get("output") or "{}")
            history = cloud.history(execution["executionArn"])
            failed = [e["executionFailedEventDetails"] for e in history if "executionFailedEventDetails" in e]
            run_id = output.get("run_id") or next(
                (
                    json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]["run_id"]
                    for e in history
                    if "taskSucceededEventDetails" in e and '"run_id"' in e["taskSucceededEventDetails"]["output"]
                ),
                None,
            )
            report = read(f"reports/{run_id}/report.json")
            rejected = read(f"runs/{run_id}/rejected.csv")
            out[name] = {
                "status": execution["status"],
                "error": failed[0].get("error") if failed else None,
                "report": json.loads(report) if report else None,
                "rejected": list(csv.DictReader(io.StringIO(rejected.decode()))) if rejected else [],
            }
    return out


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_row_has_a_clear_answer(runs: dict[str, dict], case: Case) -> None:
    run = runs[case.name]
    if case.error:
        assert run["status"] == "FAILED"
        assert run["error"] == case.error
        assert run["report"] is None  # nothing half-written that could confuse a re-upload
        return
    assert run["status"] == "SUCCEEDED", run["error"]
    report = run["report"]
    rows = report["rows"]
    assert rows["total"] == case.rows
    assert rows["accepted"] + rows["rejected"] + rows["below_min_confidence"] == rows["total"]
    got = {int(r["line"]): r["reason"] for r in run["rejected"]}
    assert set(got) == set(case.rejected), got
    for line, reason in case.rejected.items():
        assert reason in got[line], (line, got[line])
    labels = {c["label"] for c in report["classes"]}
    assert case.accepted_labels <= labels
    for row in run["rejected"]:  # spreadsheet-safe export, control characters shown escaped, never raw
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r" or value.startswith("'")
            assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in value), row
