"""``bulkqa demo`` checks every flag before it starts anything, with the functions' own rules (bulkqa.settings)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from bulkqa.report_types import Report
from bulkqa_local import demo
from bulkqa_local.cli import main


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the local cloud was started")

    monkeypatch.setattr(demo, "LocalCloud", refuse)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--max-fp-ratio", "150", "--max-fp-ratio 150 is outside 0..100: must be a number from 0 to 100"),
        ("--max-fp-ratio", "1e-3", "--max-fp-ratio 1e-3 is not accepted: must be a number from 0 to 100"),
        ("--min-confidence", "100.5", "--min-confidence 100.5 is outside 0..100"),
        ("--min-confidence", "-1", "--min-confidence -1 is not accepted"),
        ("--batch-size", "0", "--batch-size 0 is outside 1..100: must be a whole number from 1 to 100"),
        ("--batch-size", "25.5", "--batch-size 25.5 is not a whole number"),
        ("--workers", "10", "--workers 10 is outside 1..9"),
        ("--max-objects-per-job", "100001", "--max-objects-per-job 100001 is outside 1..100000"),
        ("--error-rate", "2", "--error-rate 2 is not accepted: must be a number from 0 to 1"),
        ("--timeout", "0", "--timeout 0 is not accepted"),
        ("--seed", "x", "--seed x is not accepted: must be a whole number"),
    ],
)
def test_a_bad_flag_is_refused_before_anything_starts(
    flag: str, value: str, message: str, nothing_starts: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", flag, value]) == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err
    assert "template.yaml" not in err and "MAX_FP_RATIO" not in err


def test_every_bad_flag_is_named_at_once(nothing_starts: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--max-fp-ratio", "150", "--workers", "0", "--batch-size", "101"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in err] == ["--batch-size", "--workers", "--max-fp-ratio"]


def test_run_demo_refuses_a_bad_parameter_before_the_local_stack_starts(nothing_starts: None) -> None:
    with pytest.raises(ValueError, match=r"MaxFpRatio=150 is outside 0\.\.100"):
        demo.run_demo(max_fp_ratio=150)
    with pytest.raises(ValueError, match=r"WorkersPerObject=12 is outside 1\.\.9"):
        demo.run_demo(workers=12)


def test_floats_reach_the_template_in_plain_decimal_notation() -> None:
    assert demo._parameter_text(0.00001) == "0.00001"
    assert demo._parameter_text(80.0) == "80.0"
    assert demo._parameter_text(25) == "25"


def _report(labels: list[str]) -> Report:
    from bulkqa.analysis import AnalysisOptions, Verdict, analyze

    verdicts = [Verdict(f"{n}.jpg", label, 90.0, 1, 0) for n, label in enumerate(labels)]
    return analyze(iter(verdicts), None, AnalysisOptions(min_confidence=80))


def test_the_printed_table_never_shows_a_class_as_a_summary_row(capsys: pytest.CaptureFixture[str]) -> None:
    labels = ["TOTALS", "Class average", '"TOTALS"', "totals", "Class average and a long tail", "Crab"]
    demo.print_table(_report(labels))
    lines = capsys.readouterr().out.splitlines()[2:]
    names = [line[:18].rstrip() for line in lines]
    assert len(names) == len(set(names)) == len(labels) + 2
    assert names.count("TOTALS") == 1 and names.count("Class average") == 1
    assert '"TOTALS"' in names and '""TOTALS""' in names and '"totals"' in names and '"Class average"' in names
    assert "Class average an\u2026" in names and "Crab" in names


def test_flags_parse_as_before() -> None:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args(["--csv", str(Path(__file__))])
    assert demo.flag_problems(args) == []
