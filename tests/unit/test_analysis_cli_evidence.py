"""The issue's own reproduction (#12, thresholds never below the evidence): `bulkqa analyze --verdicts FILE
--out DIR` without --min-confidence (buckets from 0) on a labels export whose reviewed items all have
confidence >= 80. A class whose every reviewed item was confirmed used to get bucket_walk 0 and
precision_bound 0; empty buckets are not evidence, so both are now at least 80."""

from __future__ import annotations

import argparse
import io
import json
import pathlib

from bulkqa_local.analyze_cmd import add_arguments, run


def test_a_class_reviewed_only_from_80_gets_no_threshold_below_80(tmp_path: pathlib.Path) -> None:
    lines = ["s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount"]
    lines += [f"s3://b/good{i}.jpg,Good,{80 + i / 2},1,0" for i in range(40)]
    lines += [f"s3://b/mixed{i}.jpg,Mixed,{81 + i},{i % 4 != 0:d},{i % 4 == 0:d}" for i in range(19)]
    verdicts = tmp_path / "verdicts.csv"
    verdicts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser(prog="bulkqa analyze")
    add_arguments(parser)
    args = parser.parse_args(["--verdicts", str(verdicts), "--out", str(tmp_path / "out")])
    assert run(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["options"]["min_confidence"] == 0 and report["options"]["bucket_edges"][0] == 0
    by_label = {c["label"]: c["threshold"] for c in report["classes"]}
    assert by_label["Good"]["bucket_walk"] == 80 and by_label["Good"]["precision_bound"] == 80
    for threshold in by_label.values():
        for value in (threshold["bucket_walk"], threshold["precision_bound"]):
            assert value is None or value >= 80
        evidence = threshold["evidence"]
        bound_note = evidence["precision_bound"] if evidence else None
        for option in bound_note["options"] if bound_note else []:
            assert option["threshold"] >= 80
