"""``bulkqa analyze``: flags, the CSV export it reads, its errors and its output."""

from __future__ import annotations

import argparse
import io
import pathlib

import pytest

from bulkqa.analysis import AnalysisOptions
from bulkqa.reports import REPORT_FILES, write_reports
from bulkqa_local.analyze_cmd import add_arguments, read_verdicts, run

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "analysis"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bulkqa analyze")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(parse(*argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write(path: pathlib.Path, text: str, encoding: str = "utf-8") -> pathlib.Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_analyses_the_blog_sample(tmp_path: pathlib.Path) -> None:
    verdicts = FIXTURES / "shellfish-blog-verdicts.csv"
    code, out, err = call("--verdicts", str(verdicts), "--out", str(tmp_path / "out"), "--min-confidence", "80")
    assert (code, err) == (0, "")
    for name in REPORT_FILES:
        assert (tmp_path / "out" / name).is_file()
        assert str(tmp_path / "out" / name) in out
    assert "367 rows: 245 analysed, 122 below the minimum confidence" in out
    lines = out.splitlines()
    crawdad = next(line for line in lines if line.startswith("Crawdad"))
    assert crawdad.split() == ["Crawdad", "68", "23.5", "15.0-34.9", "100", "n/a"]
    assert any(line.startswith("TOTALS") and " 245 " in line for line in lines)


def test_same_report_as_the_api(tmp_path: pathlib.Path) -> None:
    """The two entry points give byte-identical reports for the same verdicts."""
    verdicts = FIXTURES / "shellfish-verdicts.csv"
    assert call("--verdicts", str(verdicts), "--out", str(tmp_path / "cli"), "--min-confidence", "80")[0] == 0
    with verdicts.open(newline="", encoding="utf-8") as stream:
        write_reports(read_verdicts(stream), None, AnalysisOptions(min_confidence=80), tmp_path / "api")
    for name in ("report.json", "report.csv", "report.md", "report.html"):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()


def test_flags(tmp_path: pathlib.Path) -> None:
    args = parse("--verdicts", "v.csv", "--out", "o")
    assert (args.min_confidence, args.buckets, args.max_fp_ratio) == (0.0, None, 0.1)
    args = parse("--verdicts", "v.csv", "--out", "o", "--buckets", "80,85,90,95,100", "--max-fp-ratio", "0.25")
    assert args.buckets == (80.0, 85.0, 90.0, 95.0, 100.0) and args.max_fp_ratio == 0.25
    code, _, _ = call(
        "--verdicts",
        str(FIXTURES / "shellfish-blog-verdicts.csv"),
        "--out",
        str(tmp_path),
        "--min-confidence",
        "80",
        "--buckets",
        "80,90,100",
        "--max-fp-ratio",
        "0.5",
        "--partial",
    )
    assert code == 0
    report = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert '"partial": true' in report and '"max_fp_ratio": 0.5' in report


@pytest.mark.parametrize(
    "argv",
    [
        ("--buckets", "90,80"),
        ("--buckets", "80"),
        ("--buckets", "a,b"),
        ("--min-confidence", "120"),
        ("--min-confidence", "x"),
        ("--max-fp-ratio", "-1"),
        ("--max-fp-ratio", "nan"),
    ],
)
def test_bad_flags_exit_2(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse("--verdicts", "v.csv", "--out", "o", *argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_tolerant_reader(tmp_path: pathlib.Path) -> None:
    text = (
        "\ufeffWorkerDisconfirmCount (N),label (S),extra,confidence (N),s3_image_url (S),WorkerConfirmCount "
        "(N)\r\n"
        "1,Crab,x,91.5,s3://b/a.jpg,\r\n"
        ",Crab,x,92,s3://b/b.jpg,2\r\n"
        ",Crab,x,93,s3://b/c.jpg,\r\n"
        "\r\n"
        '"1","Sea, Turtle","y","99.9","s3://b/d.jpg","1.0"\r\n'
    )
    path = write(tmp_path / "export.csv", text)
    code, _, err = call("--verdicts", str(path), "--out", str(tmp_path / "out"))
    assert (code, err) == (0, ""), err
    with path.open(newline="", encoding="utf-8-sig") as stream:
        verdicts = list(read_verdicts(stream))
    assert [(v.label, v.confidence, v.confirms, v.rejects) for v in verdicts] == [
        ("Crab", 91.5, 0, 1),
        ("Crab", 92.0, 2, 0),
        ("Crab", 93.0, 0, 0),
        ("Sea, Turtle", 99.9, 1, 1),
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        (
            "s3_image_url,label,confidence\n",
            "line 1: missing columns WorkerConfirmCount, WorkerDisconfirmCount",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,90,1,0\ny,A,high,1,0\n",
            "line 3: confidence is 'high'",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,190,1,0\n",
            "line 2: confidence is '190'",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,nan,1,0\n",
            "line 2: confidence",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,90,-1,0\n",
            "line 2: WorkerConfirmCount is '-1'",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,90,1,0.5\n",
            "line 2: WorkerDisconfirmCount is '0.5'",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,A,90\n",
            "line 2: 3 fields",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\n,A,90,1,0\n",
            "line 2: s3_image_url is empty",
        ),
        (
            "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx, ,90,1,0\n",
            "line 2: label is empty",
        ),
    ],
)
def test_bad_file_exit_2_with_line_and_advice(tmp_path: pathlib.Path, text: str, needle: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    code, _, err = call("--verdicts", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert needle in err
    assert str(path) in err
    out_dir = tmp_path / "out"
    assert not out_dir.exists() or not any(out_dir.iterdir())  # nothing half-written


def test_missing_file_and_bad_encoding(tmp_path: pathlib.Path) -> None:
    code, _, err = call("--verdicts", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out"))
    assert code == 2 and "no such file" in err
    path = write(
        tmp_path / "latin1.csv",
        "s3_image_url,label,confidence,WorkerConfirmCount,WorkerDisconfirmCount\nx,Écrevisse,90,1,0\n",
        "latin-1",
    )
    code, _, err = call("--verdicts", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "UTF-8" in err
