"""The report files of a run: report.json/.csv/.md/.html, corrected-labels.jsonl, disconfirmed.csv.

One module per output: :mod:`.report_json` (through ``json``), :mod:`.report_csv`, :mod:`.report_md`,
:mod:`.report_html` (the template ``templates/report.html.j2`` and its ``templates/report.css``) with
:mod:`.charts` (its SVG charts), :mod:`.item_files` (corrected-labels.jsonl, disconfirmed.csv) and
:mod:`.write` (:func:`write_reports`). :mod:`.fmt` holds how numbers are written in all of them. The
report's shape is :class:`bulkqa.report_types.Report`.

:func:`write_reports` streams: the item-level files are written while the verdicts pass through the
analysis, which keeps only counts. Every file is written under a temporary name and renamed into
place once all of them are complete, so a failed run leaves no half-written report behind.

Every text that comes from the data (labels, image names) is neutralised for its medium:
:func:`csv_safe` for spreadsheets, :func:`md_escape` for Markdown, HTML escaping for the page.

Why Jinja2 for the page: it escapes HTML by default (``autoescape=True`` here), so a label cannot
become markup unless the code says so, and it is the most widely known Python template language. It
is the one template engine the Lambda package carries (functions/requirements.txt), imported only when
a page is rendered. python-liquid stays for the Ground Truth worker template only, because that page is
rendered by Ground Truth itself, in Liquid, not by our Lambda.
"""

from __future__ import annotations

from ..escaping import csv_safe, md_escape
from .fmt import BLOG_NOTE
from .report_csv import csv_table, render_csv
from .report_html import render_html
from .report_json import render_json
from .report_md import render_markdown
from .write import REPORT_FILES, write_reports

__all__ = [
    "BLOG_NOTE",
    "REPORT_FILES",
    "csv_safe",
    "csv_table",
    "md_escape",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "write_reports",
]
