"""The page's charts as SVG fragments: row accounting, whiskers, thresholds, reliability diagrams.

Every text that comes from the data (labels, and the tooltips that name them) goes through
:func:`_h` (``html.escape``, quotes included) before it is put into a fragment; the rest is numbers
formatted here and fixed words. The fragments are therefore markup safe to insert as it is, and
:mod:`.report_html` marks them safe (``Markup``) for the template only after they are built here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import pairwise
from typing import NewType

from ..report_types import Bucket, BucketRange, Report, Summary
from .fmt import bucket_name, num, threshold

#: An SVG fragment in which every text from the data is escaped (what this module's charts return).
Svg = NewType("Svg", str)


def _h(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bucket_name(bucket: Bucket) -> str:
    return bucket_name(bucket["low"], bucket["high"])


_STOPS = (
    (0.0, (202, 0, 32)),
    (25.0, (244, 165, 130)),
    (50.0, (247, 247, 247)),
    (75.0, (146, 197, 222)),
    (100.0, (5, 113, 176)),
)


def ramp(value: float) -> tuple[str, str]:
    """Fill and text colour for a % correct (red 0 -> white 50 -> blue 100)."""
    value = min(max(value, 0.0), 100.0)
    for (x0, c0), (x1, c1) in pairwise(_STOPS):
        if value <= x1:
            t = (value - x0) / (x1 - x0)
            rgb = tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
            break
    else:  # pragma: no cover - value is clamped to 100
        rgb = _STOPS[-1][1]
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#{:02x}{:02x}{:02x}".format(*rgb), ("#111111" if luminance > 140 else "#ffffff")


class Ids:
    """Unique element ids within one HTML document."""

    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def _hatch(pattern_id: str) -> str:
    return (
        f'<defs><pattern id="{pattern_id}" patternUnits="userSpaceOnUse" width="8" height="8" '
        'patternTransform="rotate(45)"><rect width="8" height="8" fill="#f2f4f7"/>'
        '<rect width="4" height="8" fill="#e3e7ec"/></pattern></defs>'
    )


def short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def whisker(entry: Summary, target_pct: float, width: int = 180) -> Svg:
    """A 0-100 % axis with the estimate as a dot and the 95 % CI as a whisker."""
    height = 22
    pad = 12

    def x(value: float) -> float:
        return pad + (width - 2 * pad) * value / 100.0

    parts = [
        f'<svg class="whisker" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="{pad}" y="9" width="{width - 2 * pad}" height="4" rx="2" fill="#eef1f4"/>',
        f'<line x1="{x(target_pct):.1f}" x2="{x(target_pct):.1f}" y1="2" y2="20" stroke="#8250df" '
        'stroke-dasharray="2 2" stroke-width="1"/>',
    ]
    p = entry["pct_correct"]
    ci = entry["pct_correct_ci95"]
    if p is None or ci is None:
        parts.append(f'<text x="{width / 2:.0f}" y="15" font-size="11" text-anchor="middle" fill="#59636e">n/a</text>')
    else:
        fill, _ = ramp(p)
        parts += [
            f"<title>{_h(f'{p:.1f} % correct, 95 % CI {ci[0]:.1f}-{ci[1]:.1f} %')}</title>",
            f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[1]):.1f}" y1="11" y2="11" stroke="#1f2328" stroke-width="2"/>',
            f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[0]):.1f}" y1="6" y2="16" stroke="#1f2328" stroke-width="1.5"/>',
            f'<line x1="{x(ci[1]):.1f}" x2="{x(ci[1]):.1f}" y1="6" y2="16" stroke="#1f2328" stroke-width="1.5"/>',
            f'<circle cx="{x(p):.1f}" cy="11" r="5" fill="{fill}" stroke="#1f2328" stroke-width="1.5"/>',
        ]
    parts.append("</svg>")
    return Svg("".join(parts))


def whisker_axis(target_pct: float, width: int = 180) -> Svg:
    pad = 12

    def x(value: float) -> float:
        return pad + (width - 2 * pad) * value / 100.0

    ticks = "".join(
        f'<text x="{x(v):.1f}" y="12" font-size="10" text-anchor="middle" fill="#59636e">{v}</text>'
        for v in (0, 25, 50, 75, 100)
    )
    return Svg(
        f'<svg width="{width}" height="16" viewBox="0 0 {width} 16" aria-hidden="true">{ticks}'
        f'<line x1="{x(target_pct):.1f}" x2="{x(target_pct):.1f}" y1="13" y2="16" stroke="#8250df"/></svg>'
    )


def rows_chart(report: Report) -> Svg:
    rows = report["rows"]
    totals = report["totals"]
    width, bar_h = 1000, 26
    parts = [f'<svg width="100%" viewBox="0 0 {width} 132" role="img" aria-label="row accounting">']

    def bar(y: int, segments: Sequence[tuple[str, int, str]], caption: str) -> None:
        whole = sum(n for _, n, _ in segments)
        parts.append(f'<text x="0" y="{y - 6}" font-size="13" fill="#1f2328">{_h(caption)}</text>')
        if not whole:
            parts.append(f'<rect x="0" y="{y}" width="{width}" height="{bar_h}" fill="#eef1f4"/>')
            return
        x = 0.0
        for name, n, colour in segments:
            if not n:
                continue
            w = width * n / whole
            parts.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{colour}">'
                f"<title>{_h(f'{name}: {n}')}</title></rect>"
            )
            if w > 90:
                parts.append(
                    f'<text x="{x + 6:.1f}" y="{y + 17}" font-size="12" fill="#ffffff">{_h(f"{name} {n}")}</text>'
                )
            x += w

    bar(
        20,
        [
            ("accepted", rows["accepted"], "#0969da"),
            ("rejected", rows["rejected"], "#cf222e"),
            ("below min confidence", rows["below_min_confidence"], "#8c959f"),
        ],
        f"Input rows: {rows['total']} = {rows['accepted']} accepted + {rows['rejected']} rejected + "
        f"{rows['below_min_confidence']} below min confidence",
    )
    bar(
        92,
        [
            ("confirmed", totals["confirmed"], "#0571b0"),
            ("disconfirmed", totals["disconfirmed"], "#ca0020"),
            ("split", totals["split"], "#e08214"),
            ("unreviewed", totals["unreviewed"], "#8c959f"),
        ],
        f"Analysed items: {totals['confirmed']} confirmed + {totals['disconfirmed']} disconfirmed + "
        f"{totals['split']} split + {totals['unreviewed']} unreviewed",
    )
    parts.append("</svg>")
    return Svg("".join(parts))


def threshold_chart(report: Report, ids: Ids) -> Svg:
    classes = report["classes"]
    buckets = report["buckets"]
    lo, hi = float(buckets[0][0]), float(buckets[-1][1])
    label_w, chart_w, right_w, row_h = 230, 620, 250, 44
    width = label_w + chart_w + right_w
    height = 40 + row_h * len(classes)
    hatch = ids.next("hatch")

    def x(value: float) -> float:
        return label_w + chart_w * (value - lo) / (hi - lo)

    parts = [
        f'<svg width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="thresholds per class">',
        _hatch(hatch),
    ]
    for low, _high in buckets:
        parts.append(
            f'<text x="{x(float(low)):.1f}" y="14" font-size="11" text-anchor="middle" fill="#59636e">{num(low)}</text>'
        )
    parts.append(f'<text x="{x(hi):.1f}" y="14" font-size="11" text-anchor="middle" fill="#59636e">{num(hi)}</text>')
    for i, entry in enumerate(classes):
        y = 30 + i * row_h
        parts.append(
            f'<text x="{label_w - 12}" y="{y + 17}" font-size="13" text-anchor="end" fill="#1f2328">'
            f"<title>{_h(entry['label'])}</title>{_h(short(entry['label']))}</text>"
        )
        for b in entry["buckets"]:
            x0, x1 = x(float(b["low"])), x(float(b["high"]))
            if b["pct_correct"] is None:
                fill = f"url(#{hatch})"
                tip = f"{_bucket_name(b)}: no reviewed item"
            else:
                fill = ramp(b["pct_correct"])[0]
                tip = f"{_bucket_name(b)}: {b['pct_correct']:.1f} % correct ({b['incorrect']}/{b['total']} wrong)"
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 6}" width="{x1 - x0:.1f}" height="16" fill="{fill}" '
                f'stroke="#ffffff" stroke-width="1.5"><title>{_h(tip)}</title></rect>'
            )
        limits = entry["threshold"]
        walk, bound = limits["bucket_walk"], limits["precision_bound"]
        if walk is not None:
            xw = x(float(walk))
            parts.append(
                f'<path d="M{xw - 6:.1f},{y} L{xw + 6:.1f},{y} L{xw:.1f},{y + 8} Z" fill="#1f2328">'
                f"<title>{_h(f'bucket walk threshold {num(walk)}')}</title></path>"
                f'<line x1="{xw:.1f}" x2="{xw:.1f}" y1="{y + 4}" y2="{y + 24}" stroke="#1f2328" '
                'stroke-width="2"/>'
            )
        if bound is not None:
            xb = x(float(bound))
            parts.append(
                f'<path d="M{xb - 6:.1f},{y + 34} L{xb + 6:.1f},{y + 34} L{xb:.1f},{y + 26} Z" '
                'fill="#8250df">'
                f"<title>{_h(f'precision bound threshold {num(bound)}')}</title></path>"
                f'<line x1="{xb:.1f}" x2="{xb:.1f}" y1="{y + 6}" y2="{y + 26}" stroke="#8250df" '
                'stroke-width="2" stroke-dasharray="3 2"/>'
            )
        summary = f"walk {threshold(walk)} · bound {threshold(bound)}"
        if limits["evidence"]:
            summary += " · needs evidence"
        parts.append(
            f'<text x="{label_w + chart_w + 16}" y="{y + 18}" font-size="12" fill="#1f2328">{_h(summary)}</text>'
        )
    parts.append("</svg>")
    legend = (
        "<div class='legend'><span><svg width='14' height='12' aria-hidden='true'><path d='M1,1 L13,1 L7,10 "
        "Z' "
        "fill='#1f2328'/></svg> bucket walk (blog rule)</span><span><svg width='14' height='12' "
        "aria-hidden='true'><path d='M1,11 L13,11 L7,2 Z' fill='#8250df'/></svg> precision bound (95 % "
        "lower bound)</span><span>bars: % correct per bucket, same colours as the heatmap</span></div>"
    )
    return Svg("".join(parts) + legend)


def reliability(entry: Summary, buckets: Sequence[BucketRange], *, big: bool, title: str = "") -> Svg:
    """Mean confidence against % correct per bucket (``big``: the page's main diagram, else a small one)."""
    lo, hi = float(buckets[0][0]), float(buckets[-1][1])
    if big:
        width, height, left, bottom, top, right = 560, 420, 56, 48, 16, 16
    else:
        width, height, left, bottom, top, right = 240, 190, 34, 26, 10, 10
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(value: float) -> float:
        return left + plot_w * (value - lo) / (hi - lo)

    def y(value: float) -> float:
        return top + plot_h * (1.0 - value / 100.0)

    fs = 12 if big else 9
    parts = [
        f'<svg class="reliability" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" '
        f'aria-label="{_h(title or "reliability diagram")}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fbfcfd" stroke="#d1d9e0"/>',
    ]
    for v in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eef1f4"/>'
            f'<text x="{left - 4}" y="{y(v) + 3:.1f}" font-size="{fs}" text-anchor="end" '
            f'fill="#59636e">{v}</text>'
        )
    edges = [float(b[0]) for b in buckets] + [hi]
    step = max(1, len(edges) // (10 if big else 5))
    for i, e in enumerate(edges):
        if i % step and i != len(edges) - 1:
            continue
        parts.append(
            f'<text x="{x(e):.1f}" y="{top + plot_h + fs + 4}" font-size="{fs}" text-anchor="middle" '
            f'fill="#59636e">{num(e)}</text>'
        )
    # bars: % correct per bucket
    for b in entry["buckets"]:
        if b["pct_correct"] is None:
            continue
        x0, x1 = x(float(b["low"])), x(float(b["high"]))
        parts.append(
            f'<rect x="{x0 + 1:.1f}" y="{y(b["pct_correct"]):.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
            f'height="{y(0) - y(b["pct_correct"]):.1f}" fill="#cfe3f3"/>'
        )
    # perfect calibration: accuracy = confidence
    parts.append(
        f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" stroke="#59636e" '
        'stroke-dasharray="5 4" stroke-width="1.2"/>'
    )
    points = [
        (mean, correct, b)
        for b in entry["buckets"]
        if (correct := b["pct_correct"]) is not None and (mean := b["mean_confidence"]) is not None
    ]
    if len(points) > 1:
        path = " ".join(f"{x(mean):.1f},{y(correct):.1f}" for mean, correct, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for mean, correct, b in points:
        cx, cy = x(mean), y(correct)
        ci = b["pct_correct_ci95"]
        if ci and big:
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(ci[0]):.1f}" y2="{y(ci[1]):.1f}" stroke="#0969da" '
                'stroke-width="1.5"/>'
            )
        tip = f"{_bucket_name(b)}: mean confidence {mean:.1f}, {correct:.1f} % correct, n = {b['total']}"
        radius = 5 if big else 3
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="#0969da" stroke="#ffffff" '
            'stroke-width="1">'
            f"<title>{_h(tip)}</title></circle>"
        )
        if big and len(buckets) <= 8:
            near_right = cx > left + plot_w - 50
            anchor = "end" if near_right else "start"
            tx = cx - 8 if near_right else cx + 8
            parts.append(
                f'<text x="{tx:.1f}" y="{cy - 8:.1f}" font-size="11" text-anchor="{anchor}" '
                f'fill="#1f2328">n={b["total"]}</text>'
            )
    if big:
        parts.append(
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" font-size="12" text-anchor="middle" '
            'fill="#1f2328">mean model confidence in the bucket</text>'
            f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="12" text-anchor="middle" fill="#1f2328" '
            f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">% confirmed by reviewers</text>'
        )
    parts.append("</svg>")
    return Svg("".join(parts))


def heat_legend() -> Svg:
    """The colour scale under the heatmap."""
    stops = "".join(f'<stop offset="{x:.0f}%" stop-color="#{c[0]:02x}{c[1]:02x}{c[2]:02x}"/>' for x, c in _STOPS)
    return Svg(
        '<svg width="220" height="30" viewBox="0 0 220 30" aria-hidden="true"><defs>'
        f'<linearGradient id="ramp">{stops}</linearGradient></defs>'
        '<rect x="10" y="2" width="200" height="12" fill="url(#ramp)" stroke="#d1d9e0"/>'
        + "".join(
            f'<text x="{10 + 2 * v}" y="27" font-size="10" text-anchor="middle" fill="#59636e">{v}</text>'
            for v in (0, 50, 100)
        )
        + "</svg>"
    )
