"""Render Ground Truth worker templates locally, the way Ground Truth renders them.

Ground Truth renders a custom worker template with Liquid, HTML-autoescaping every output, and adds
its own filters (docs/ground-truth.md#the-worker-page-liquid-crowd-form-and-crowd-checkbox):

* ``grant_read_access``: an ``s3://`` URI -> a short-lived HTTPS URL. Here: whatever ``presign``
  returns (a presigned URL of the local S3, or a fake URL in tests).
* ``to_json``: JSON-encode any value (the result is still autoescaped on output, so it is safe in
  an attribute value: ``data-x="{{ v | to_json }}"``).
* ``escape``: HTML-escape; the result is marked safe, so it is never escaped twice.
* ``escape_once``: HTML-escape without re-escaping entities (``&amp;`` stays ``&amp;``).
* ``skip_autoescape``: output as raw HTML. Never use it on task input: it is an XSS hole.

The template's data is ``{"task": {"input": <taskInput>}}``. Data is never parsed as Liquid, so a
label such as ``{{ 7*7 }}`` is printed literally.

Undefined variables raise by default (``StrictDefaultUndefined``: ``| default:`` still works), so a
typo in a template fails loudly here instead of rendering an empty page on Ground Truth, which
prints nothing for an undefined variable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import liquid
from liquid import Markup, StrictDefaultUndefined, Undefined
from liquid.builtin.filters.string import escape, escape_once
from liquid.exceptions import FilterValueError
from liquid.stringify import to_liquid_string

__all__ = ["make_environment", "render_worker_template"]

Presign = Callable[[str], str]


def _grant_read_access(presign: Presign) -> Callable[[object], str]:
    def grant_read_access(value: object) -> str:
        if not isinstance(value, str) or not value.startswith("s3://") or "/" not in value[5:]:
            raise FilterValueError(f"grant_read_access expects an s3://bucket/key URI, got {value!r}", token=None)
        url = presign(value)
        if not url.startswith(("https://", "http://")):
            raise FilterValueError(f"presign({value!r}) returned {url!r}, not an http(s) URL", token=None)
        return url  # a plain str: autoescaping turns its '&' into '&amp;', as an attribute needs

    return grant_read_access


def _to_json(value: object) -> str:
    if isinstance(value, Undefined):
        raise FilterValueError("to_json of an undefined value", token=None)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise FilterValueError(f"to_json cannot encode {type(value).__name__}: {exc}", token=None) from exc


def _skip_autoescape(value: object) -> Markup:
    return Markup(to_liquid_string(value, autoescape=False))


def make_environment(presign: Presign, *, undefined: type[Undefined] = StrictDefaultUndefined) -> liquid.Environment:
    """A Liquid environment configured like Ground Truth's: autoescape on, GT filters registered.

    ``presign`` maps an ``s3://`` URI to an HTTPS URL (``grant_read_access``). ``undefined`` is
    strict by default; pass ``liquid.Undefined`` for Ground Truth's lenient behaviour.
    """
    env = liquid.Environment(autoescape=True, undefined=undefined, strict_filters=True)
    env.add_filter("grant_read_access", _grant_read_access(presign))
    env.add_filter("to_json", _to_json)
    # Built in to python-liquid already; registered again so this file lists every GT filter. With
    # autoescape on, both return markupsafe.Markup and are therefore not escaped a second time.
    env.add_filter("escape", escape)
    env.add_filter("escape_once", escape_once)
    env.add_filter("skip_autoescape", _skip_autoescape)
    return env


def render_worker_template(
    source: str,
    task_input: Mapping[str, Any],
    presign: Presign,
    *,
    undefined: type[Undefined] = StrictDefaultUndefined,
) -> str:
    """Render a worker template as Ground Truth would show it for one task.

    ``source`` is the template text, ``task_input`` the pre-labeling function's ``taskInput``.
    """
    env = make_environment(presign, undefined=undefined)
    template = env.from_string(source)
    return template.render(task={"input": task_input})
