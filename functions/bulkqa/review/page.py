"""The self-hosted reviewer page: its files, their content types, and its Content-Security-Policy.

The review API serves ``GET /`` (:func:`page_html`) and ``GET /assets/{file}`` (:func:`asset`); both are
public (the page signs in itself, against Cognito). The page is ``templates/review/index.html`` with
``app.js`` and ``app.css``, and the grid shared with the Ground Truth worker page (``templates/grid.js``,
``templates/grid.css``). It holds no inline script or style, so the policy allows scripts and styles from
the API's own origin only (:func:`content_security_policy`); labels and file names are written with
``textContent`` only (tests/unit/test_review_page.py checks the sources).

Files are read with importlib.resources on each call (nothing at import time; a few kilobytes).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Final
from urllib.parse import urlsplit

from ..errors import SettingsError

__all__ = ["ASSETS", "asset", "content_security_policy", "image_origins", "page_html", "response_headers"]

HTML: Final = "text/html; charset=utf-8"
JS: Final = "text/javascript; charset=utf-8"
CSS: Final = "text/css; charset=utf-8"

#: ``GET /assets/{file}``: file name -> (path under ``bulkqa/templates``, content type); nothing else is served
ASSETS: Final[dict[str, tuple[str, str]]] = {
    "app.js": ("review/app.js", JS),
    "app.css": ("review/app.css", CSS),
    "grid.js": ("grid.js", JS),
    "grid.css": ("grid.css", CSS),
}

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


def _read(path: str) -> bytes:
    return resources.files("bulkqa").joinpath("templates", *path.split("/")).read_bytes()


def page_html() -> bytes:
    """The page (``text/html; charset=utf-8``), the same for everyone: it loads ``/api/config`` itself."""
    return _read("review/index.html")


def asset(name: str) -> tuple[bytes, str] | None:
    """``(body, content type)`` of a known asset, else None (the route answers 404)."""
    known = ASSETS.get(name)
    if known is None:
        return None
    path, content_type = known
    return _read(path), content_type


def _origin(url: str, what: str) -> str:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not _ORIGIN.fullmatch(origin):
        raise SettingsError(
            f"{what} {url!r} is not an http(s) URL: set it to an address such as "
            "https://cognito-idp.<region>.amazonaws.com/"
        )
    return origin


def content_security_policy(image_origins: list[str], cognito_endpoint: str) -> str:
    """The page's Content-Security-Policy header.

    Scripts, styles and API calls come from the page's own origin; images from ``image_origins`` (where
    presigned GET URLs point, :func:`image_origins`) and ``'self'`` (the local cloud serves them from
    the API's origin); sign-in calls go to the origin of ``cognito_endpoint``. No frames, no <base>, no
    form submissions (the page's forms are handled by its script).
    """
    images = ["'self'"]
    for origin in image_origins:
        checked = _origin(origin, "image origin")
        if checked != origin.rstrip("/"):
            raise SettingsError(f"image origin {origin!r} must be a bare origin (scheme://host[:port]), no path")
        if checked not in images:
            images.append(checked)
    cognito = _origin(cognito_endpoint, "COGNITO_ENDPOINT")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src " + " ".join(images),
            f"connect-src 'self' {cognito}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def image_origins(bucket: str, region: str, image_bucket: str) -> list[str]:
    """The origins of S3 presigned GET URLs for the stack's bucket and the image bucket (may be "").

    boto3 presigns virtual-hosted URLs, regional (``https://<b>.s3.<region>.amazonaws.com``) or, in
    us-east-1 by default, global (``https://<b>.s3.amazonaws.com``): both are allowed. A bucket whose name
    has a dot may be presigned path-style (its name does not match S3's TLS certificate), so S3's own
    endpoints are allowed for it too. China regions use amazonaws.com.cn.
    """
    if not _REGION.fullmatch(region):
        raise SettingsError(f"region {region!r} is not an AWS region name: set AWS_REGION (e.g. us-east-1)")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    origins: list[str] = []
    for name in (bucket, image_bucket):
        if not name:
            continue
        if not _BUCKET.fullmatch(name):
            raise SettingsError(
                f"bucket name {name!r} is not a valid S3 bucket name: check BUCKET_NAME and IMAGE_BUCKET_NAME"
            )
        hosts = [f"{name}.s3.{region}.{suffix}", f"{name}.s3.{suffix}"]
        if "." in name:
            hosts += [f"s3.{region}.{suffix}", f"s3.{suffix}"]
        for host in hosts:
            if f"https://{host}" not in origins:
                origins.append(f"https://{host}")
    return origins


def response_headers(content_type: str, csp: str | None = None) -> dict[str, str]:
    """Headers for the page (with its ``csp``) and its assets: no sniffing, no referrer, short caching."""
    headers = {
        "Content-Type": content_type,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    if csp is not None:
        headers["Content-Security-Policy"] = csp
        headers["X-Frame-Options"] = "DENY"
    return headers
