"""``bulkqa analyze`` reads its input with the ingest's rules (#17, point 6) and checks its flags (point 5)."""

from __future__ import annotations

import argparse
import io
import json
import pathlib

import pytest

from bulkqa_local.analyze_cmd import add_arguments, run

HEADER = "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bulkqa analyze")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def analyze(tmp_path: pathlib.Path, text: str, *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "verdicts.csv"
    path.write_bytes(text.encode("utf-8"))
    out, err = io.StringIO(), io.StringIO()
    code = run(parse("--verdicts", str(path), "--out", str(tmp_path / "out"), *flags), stdout=out, stderr=err)
    if code:
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written
    return code, out.getvalue(), err.getvalue()


def report(tmp_path: pathlib.Path) -> dict:  # type: ignore[type-arg]
    return json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- the header: the ingest's rules -----------------------------------------------------------------------


def test_column_names_in_any_case(tmp_path: pathlib.Path) -> None:
    text = "S3_Image_URL,LABEL,Confidence (N),workerconfirmcount,WORKERDISCONFIRMCOUNT\ns3://b/a.jpg,Crab,90,1,0\n"
    code, _, err = analyze(tmp_path, text)
    assert (code, err) == (0, "")
    assert report(tmp_path)["totals"]["confirmed"] == 1


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        (HEADER + ",Label", "line 1: column 'label' appears twice in the header (columns 2 and 6)"),
        (HEADER + ",CONFIDENCE", "column 'confidence' appears twice"),
        (HEADER + ",workerconfirmcount", "column 'workerconfirmcount' appears twice in the header (columns 4 and 6)"),
        (HEADER + ",WorkerVerdicts,WorkerVerdicts", "column 'workerverdicts' appears twice"),
        (
            HEADER.replace("s3_image_url", "image_local_path") + ",s3_image_url",
            "both image_local_path and s3_image_url",
        ),
    ],
)
def test_a_duplicated_column_is_an_error(tmp_path: pathlib.Path, header: str, needle: str) -> None:
    width = header.count(",") + 1
    code, _, err = analyze(
        tmp_path, header + "\n" + ",".join(["s3://b/a.jpg", "A", "90", "1", "0"] + ["x"] * (width - 5)) + "\n"
    )
    assert code == 2 and needle in err, err


# --- rows ---------------------------------------------------------------------------------------------------


def test_a_repeated_image_and_label_is_an_error_naming_both_lines(tmp_path: pathlib.Path) -> None:
    rows = "s3://b/a.jpg,Crab,90,1,0\ns3://b/b.jpg,Crab,91,1,0\n"
    code, _, err = analyze(tmp_path, HEADER + "\n" + rows + rows)  # an export pasted twice
    assert code == 2
    assert "line 4: s3_image_url 's3://b/a.jpg' with label 'Crab' repeats line 2" in err


def test_two_spellings_of_one_label_are_one_class_so_a_repeat(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,Caf\u00e9,90,1,0\ns3://b/a.jpg, Cafe\u0301 ,91,1,0\n"
    code, _, err = analyze(tmp_path, text)
    assert code == 2 and "line 3:" in err and "repeats line 2" in err


def test_the_same_image_under_two_labels_is_two_rows(tmp_path: pathlib.Path) -> None:
    code, _, err = analyze(tmp_path, HEADER + "\ns3://b/a.jpg,Crab,90,1,0\ns3://b/a.jpg,Shrimp,90,0,1\n")
    assert (code, err) == (0, "")


def test_line_numbers_count_physical_lines(tmp_path: pathlib.Path) -> None:
    text = HEADER + ',Note\ns3://b/a.jpg,Crab,90,1,0,"two\nlines"\ns3://b/a.jpg,Crab,91,1,0,x\n'
    code, _, err = analyze(tmp_path, text)
    assert code == 2 and "line 4: " in err and "repeats line 2" in err


@pytest.mark.parametrize(
    ("label", "needle"),
    [
        ("A\u202eB", "line 2: label contains U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("A\u200bB", "line 2: label contains U+200B ZERO WIDTH SPACE"),
        ('"A\tB"', "line 2: label contains U+0009"),
        ("\u2003", "line 2: label is empty"),
    ],
)
def test_labels_go_through_the_label_policy(tmp_path: pathlib.Path, label: str, needle: str) -> None:
    code, _, err = analyze(tmp_path, f"{HEADER}\ns3://b/a.jpg,{label},90,1,0\n")
    assert code == 2 and needle in err, err


def test_labels_are_nfc_and_trimmed(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,Cafe\u0301 ,90,1,0\ns3://b/b.jpg,\u00a0Caf\u00e9,91,0,1\n"
    assert analyze(tmp_path, text)[0] == 0
    assert [c["label"] for c in report(tmp_path)["classes"]] == ["Caf\u00e9"]


@pytest.mark.parametrize(
    ("verdicts", "counts", "needle"),
    [
        ('"[""w1""]"', "1,0", "line 2: WorkerVerdicts is JSON list, not an object"),
        ("42", "1,0", "line 2: WorkerVerdicts is JSON int, not an object"),
        ('"""confirm"""', "1,0", "line 2: WorkerVerdicts is JSON str, not an object"),
        ("null", "1,0", "line 2: WorkerVerdicts is JSON null, not an object"),
        (
            '"{""w1"": ""confirm""}"',
            "0,1",
            "line 2: WorkerVerdicts names 1 confirm and 0 reject, but the counts are WorkerConfirmCount 0 and "
            "WorkerDisconfirmCount 1",
        ),
        ('"{""w1"": ""confirm"", ""w2"": ""reject""}"', "1,0", "names 1 confirm and 1 reject"),
    ],
)
def test_worker_verdicts_must_be_an_object_that_agrees_with_the_counts(
    tmp_path: pathlib.Path, verdicts: str, counts: str, needle: str
) -> None:
    code, _, err = analyze(tmp_path, f"{HEADER},WorkerVerdicts\ns3://b/a.jpg,A,90,{counts},{verdicts}\n")
    assert code == 2 and needle in err, err


def test_worker_verdicts_that_agree_are_read(tmp_path: pathlib.Path) -> None:
    dynamo = '"{""M"": {""w1"": {""S"": ""confirm""}, ""w2"": {""S"": ""reject""}}}"'
    plain = '"{""w1"": ""confirm"", ""w3"": ""confirm""}"'
    text = f"{HEADER},WorkerVerdicts\ns3://b/a.jpg,A,90,1,1,{dynamo}\ns3://b/b.jpg,A,91,2,0,{plain}\n"
    code, _, err = analyze(tmp_path, text)
    assert (code, err) == (0, "")


# --- the confidence scale: the ingest's rule ----------------------------------------------------------------


def test_a_file_of_fractions_is_read_on_the_0_1_scale(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,A,0.57,1,0\ns3://b/b.jpg,A,0.9,0,1\ns3://b/c.jpg,A,1,1,0\n"
    assert analyze(tmp_path, text, "--min-confidence", "57")[0] == 0
    data = report(tmp_path)
    assert data["rows"]["below_min_confidence"] == 0  # 0.57 is 57, at the minimum, exactly
    assert data["totals"]["total"] == 3
    corrected = (tmp_path / "out" / "corrected-labels.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["confidence"] for line in corrected.splitlines()] == [57.0, 90.0, 100.0]


def test_a_value_above_1_in_a_fraction_file_is_an_error(tmp_path: pathlib.Path) -> None:
    rows = "".join(f"s3://b/{n}.jpg,A,0.9,1,0\n" for n in range(1_000)) + "s3://b/late.jpg,A,57,1,0\n"
    code, _, err = analyze(tmp_path, HEADER + "\n" + rows)
    assert code == 2 and "line 1002: confidence is '57', above 1, but this file uses the 0-1 scale" in err


def test_the_scale_can_be_given(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,A,0.5,1,0\ns3://b/b.jpg,A,0.9,0,1\n"
    assert analyze(tmp_path, text, "--confidence-scale", "percent")[0] == 0
    assert report(tmp_path)["totals"]["calibration"]["mean_confidence"] == pytest.approx(0.7)


def test_a_percent_file_stays_on_the_0_100_scale(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,A,1,1,0\ns3://b/b.jpg,A,90,0,1\n"
    assert analyze(tmp_path, text)[0] == 0
    corrected = (tmp_path / "out" / "corrected-labels.jsonl").read_text(encoding="utf-8")
    assert [json.loads(line)["confidence"] for line in corrected.splitlines()] == [1.0, 90.0]


@pytest.mark.parametrize("text", ["9_5", "\u0669\u0665", "\uff19\uff15", "1e400000", "0x5a"])
def test_only_plain_decimal_notation_is_a_confidence(tmp_path: pathlib.Path, text: str) -> None:
    code, _, err = analyze(tmp_path, f"{HEADER}\ns3://b/a.jpg,A,{text},1,0\n")
    assert code == 2 and "line 2: confidence is" in err


# --- flags ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("--max-fp-ratio", "150"), "argument --max-fp-ratio: 150 is outside 0..100"),
        (("--min-confidence", "1e1"), "argument --min-confidence: 1e1 is not accepted"),
        (("--buckets", "80,90,150"), "bucket edge 150 is outside 0-100"),
        (("--buckets=-5,50",), "'-5' is not a number in plain decimal notation"),
        (("--buckets", "50,50,100"), "strictly increasing"),
        (("--confidence-scale", "percentage"), "must be one of auto, percent, fraction"),
    ],
)
def test_flags_are_checked_with_the_stack_rules(
    argv: tuple[str, ...], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse("--verdicts", "v.csv", "--out", "o", *argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "template.yaml" not in err


def test_the_printed_table_never_shows_a_class_as_the_totals_row(tmp_path: pathlib.Path) -> None:
    text = HEADER + "\ns3://b/a.jpg,TOTALS,90,1,0\ns3://b/b.jpg,Totals,90,1,0\ns3://b/c.jpg,Crab,90,0,1\n"
    code, out, _ = analyze(tmp_path, text)
    assert code == 0
    names = [line.split("  ")[0].strip() for line in out.splitlines()[2:] if line.startswith(('"', "TOTALS", "Crab"))]
    assert sorted(names) == sorted(['"TOTALS"', '"Totals"', "Crab", "TOTALS"])
