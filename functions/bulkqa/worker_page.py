"""The Ground Truth worker page, assembled: ``templates/worker_task.liquid.html`` with the shared grid inlined.

The grid's CSS and JS (``templates/grid.css``, ``templates/grid.js``) are shared with the self-hosted
reviewer page (``bulkqa.review.page``). A Ground Truth custom template must be self-contained (its only
external asset is AWS's crowd-html-elements.js), so each file replaces its marker comment
(``/* @bulkqa-inline grid.css */``) in the template. The result is what ``start_labeling_job`` uploads
and what the local Ground Truth renders.

Ground Truth parses the whole page as Liquid: an inlined file must not contain ``{{``, ``{%`` or ``{#``
(Liquid would parse or reject it) and must not close its own element (``</style``, ``</script``).
"""

from __future__ import annotations

from importlib import resources

__all__ = ["INLINED", "MARKER", "TemplateAssemblyError", "worker_template"]

#: the files inlined into the worker template, in order
INLINED = ("grid.css", "grid.js")
#: the comment a file replaces, e.g. ``/* @bulkqa-inline grid.css */``
MARKER = "/* @bulkqa-inline {name} */"
_LIQUID = ("{{", "{%", "{#")
_CLOSERS = {"css": "</style", "js": "</script"}


class TemplateAssemblyError(RuntimeError):
    """The worker template and the grid files do not fit together (a packaging or editing mistake)."""


def _read(name: str) -> str:
    return resources.files("bulkqa").joinpath("templates", name).read_text("utf-8")


def _check_inlinable(name: str, text: str) -> None:
    for token in _LIQUID:
        if token in text:
            raise TemplateAssemblyError(
                f"templates/{name} contains {token!r}, which Ground Truth's Liquid would parse: "
                "rewrite it (e.g. put a space between the braces)"
            )
    closer = _CLOSERS[name.rsplit(".", 1)[-1]]
    if closer in text.lower():
        raise TemplateAssemblyError(
            f"templates/{name} contains {closer!r}, which would end its inline element: remove it"
        )


def worker_template() -> bytes:
    """The self-contained Liquid template uploaded for Ground Truth (UTF-8).

    Raises TemplateAssemblyError when a marker is missing or repeated, or a grid file is not safe to
    inline (see the module's docstring).
    """
    page = _read("worker_task.liquid.html")
    for name in INLINED:
        marker = MARKER.format(name=name)
        if page.count(marker) != 1:
            raise TemplateAssemblyError(
                f"templates/worker_task.liquid.html must contain the marker {marker!r} exactly once "
                f"(found {page.count(marker)}): restore it where {name} belongs"
            )
        text = _read(name)
        _check_inlinable(name, text)
        page = page.replace(marker, text.strip("\n"))
    return page.encode("utf-8")
