"""report.html: one self-contained page (inline CSS and SVG, no script, no external resource).

The page is ``templates/report.html.j2`` with ``templates/report.css``, rendered by Jinja2 with
autoescape on and ``StrictUndefined`` (a misspelt field fails the render instead of printing nothing).
This module prepares what the template shows: the report itself, the numbers' formats as filters, and
the SVG charts of :mod:`.charts` (built from escaped text only, then marked safe). Jinja2 is imported
when a page is rendered, not when this module is: no Lambda handler's import time grows.
"""

from __future__ import annotations

import functools
import pathlib
from typing import TYPE_CHECKING, NamedTuple

from ..escaping import visible
from ..report_types import Bucket, Report, Summary, Threshold
from . import charts
from .fmt import BLOG_NOTE, bucket_name, ci, definitions, for_people, kappa, num, pct, pct_sign, share, threshold
from .report_csv import csv_table

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
#: Classes with a small reliability diagram, and reviewers listed, on the page (the rest: report.json).
MAX_FIGURES = 60
MAX_REVIEWERS = 100


class Card(NamedTuple):
    key: str
    value: str


class TableRow(NamedTuple):
    """A row of the per-class table: a class, or TOTALS (``limits`` None)."""

    label: str
    summary: Summary
    limits: Threshold | None
    whisker: Markup


class HeatCell(NamedTuple):
    text: str
    #: background and text colour; None for an empty cell (n/a, hatched)
    fill: str | None
    ink: str
    small: str
    title: str


class HeatRow(NamedTuple):
    label: str
    css: str
    cells: list[HeatCell]


class Heatmap(NamedTuple):
    kind: str
    rows: list[HeatRow]


class Figure(NamedTuple):
    svg: Markup
    label: str
    ece: float | None
    reviewed: int


def _safe(svg: charts.Svg) -> Markup:
    """A chart as markup for the template: only :mod:`.charts` output, whose data text is already escaped."""
    from markupsafe import Markup

    # charts.Svg is built by charts from html.escape'd text only
    return Markup(svg)  # noqa: S704  # nosec B704


def _gap(bucket: Bucket) -> str:
    mean, correct = bucket["mean_confidence"], bucket["pct_correct"]
    return "n/a" if mean is None or correct is None else f"{mean - correct:+.1f}"


def _bucket(bucket: Bucket) -> str:
    return bucket_name(bucket["low"], bucket["high"])


@functools.cache
def environment() -> Environment:
    """The Jinja2 environment of the report templates (built once per process)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        num=num,
        pct=pct,
        pct_sign=pct_sign,
        ci=ci,
        threshold=threshold,
        kappa=kappa,
        share=share,
        gap=_gap,
        bucket_name=_bucket,
    )
    return env


def _heatmap(report: Report, labelled: list[tuple[str, Summary, str]]) -> Heatmap:
    names = [bucket_name(low, high) for low, high in report["buckets"]]
    compact = len(names) > 8
    digits = 0 if compact else 1

    def cell(p: float | None, small: str, title: str) -> HeatCell:
        if p is None:
            return HeatCell("n/a", None, "", small, title)
        fill, ink = charts.ramp(p)
        return HeatCell(f"{p:.{digits}f} %", fill, ink, small, title)

    def note(wrong: int, total: int) -> str:
        if not total:
            return "-" if compact else "no reviews"
        return f"{wrong}/{total}" if compact else f"{wrong}/{total} wrong"

    rows: list[HeatRow] = []
    for label, entry, css in labelled:
        cells = []
        for name, b in zip(names, entry["buckets"], strict=True):
            title = f"{label} {name}: {b['incorrect']}/{b['total']} wrong"
            cells.append(cell(b["pct_correct"], note(b["incorrect"], b["total"]), title))
        wrong = entry["disconfirmed"] + entry["split"]
        title = f"{label}: {wrong}/{entry['total']} wrong"
        cells.append(cell(entry["pct_correct"], note(wrong, entry["total"]), title))
        rows.append(HeatRow(label, css, cells))
    average = report["class_average"]
    unit = "" if compact else " classes"
    cells = [
        cell(b["pct_correct"], f"{b['classes']}{unit}", f"class average {name}: {b['classes']} classes")
        for name, b in zip(names, average["buckets"], strict=True)
    ]
    cells.append(cell(average["pct_correct"], f"{average['classes']}{unit}", "class average"))
    rows.append(HeatRow("Class average", "avg", cells))
    return Heatmap("heat compact" if compact else "heat", rows)


def render_html(report: Report, title: str = "bulk-label-qa report") -> str:
    """report.html of ``report`` (labels as :func:`for_people` shows them, then HTML-escaped)."""
    report = for_people(report)
    title = visible(title)
    ids = charts.Ids()
    opts = report["options"]
    totals = report["totals"]
    classes = report["classes"]
    agreement = report["agreement"]
    target_pct = 100.0 * opts["target_precision"]
    # the charts in page order: the hatch pattern ids are numbered in that order
    rows_chart = _safe(charts.rows_chart(report))
    table_rows = [TableRow(e["label"], e, e["threshold"], _safe(charts.whisker(e, target_pct))) for e in classes]
    table_rows.append(TableRow("TOTALS", totals, None, _safe(charts.whisker(totals, target_pct))))
    heat = _heatmap(report, [(e["label"], e, "") for e in classes] + [("TOTALS", totals, "sum")])
    threshold_chart = _safe(charts.threshold_chart(report, ids))
    big = charts.reliability(totals, report["buckets"], big=True, title="reliability diagram, all classes")
    figures = [
        Figure(
            _safe(charts.reliability(e, report["buckets"], big=False, title=f"reliability, {e['label']}")),
            charts.short(e["label"], 30),
            e["calibration"]["ece"],
            e["calibration"]["reviewed_in_buckets"],
        )
        for e in classes[:MAX_FIGURES]
    ]
    reviewers = agreement["reviewers"] or []
    table = csv_table(report)
    n_blog = 6 + 3 * len(report["buckets"])
    cards = [
        Card("input rows", str(report["rows"]["total"])),
        Card("reviewed items", str(totals["total"])),
        Card("% correct · 95 % CI " + ci(totals["pct_correct_ci95"]), pct_sign(totals["pct_correct"])),
        Card("class average", pct_sign(report["class_average"]["pct_correct"])),
        Card("calibration error (ECE)", f"{pct(totals['calibration']['ece'], 1)} pts"),
        Card("reviewer agreement (Fleiss' κ)", kappa(agreement["fleiss_kappa"])),
    ]
    agreement_cards = [
        Card("items with 2+ reviews", str(agreement["items_with_multiple_reviews"])),
        Card("of them split", f"{pct_sign(agreement['pct_split'])} ({agreement['split_items']})"),
        Card(f"Fleiss' κ ({agreement['fleiss_raters']} reviews/item)", kappa(agreement["fleiss_kappa"])),
    ]
    page = environment().get_template("report.html.j2")
    return page.render(
        title=title,
        report=report,
        opts=opts,
        totals=totals,
        classes=classes,
        average=report["class_average"],
        agreement=agreement,
        target_pct=f"{target_pct:.1f}",
        first_edge=report["buckets"][0][0],
        last_edge=report["buckets"][-1][1],
        bucket_names=[bucket_name(low, high) for low, high in report["buckets"]],
        cards=cards,
        charts={
            "rows": rows_chart,
            "whisker_axis": _safe(charts.whisker_axis(target_pct)),
            "heat_legend": _safe(charts.heat_legend()),
            "thresholds": threshold_chart,
            "reliability": _safe(big),
        },
        table_rows=table_rows,
        heat=heat,
        evidence=[(e["label"], ev["summary"]) for e in classes if (ev := e["threshold"]["evidence"])],
        figures=figures,
        more_figures=max(len(classes) - MAX_FIGURES, 0),
        agreement_cards=agreement_cards,
        reviewers=reviewers[:MAX_REVIEWERS],
        more_reviewers=max(len(reviewers) - MAX_REVIEWERS, 0),
        blog_header=table[0][:n_blog],
        blog_rows=[row[:n_blog] for row in table[1:]],
        definitions=definitions(report),
        blog_note=BLOG_NOTE,
    )
