"""The Content-Security-Policy of the app's pages, and the per-answer nonce their inline scripts carry.

Scripts: only files the app serves ('self'), plus the inline scripts our own templates write. Folium pages
are a page of inline JavaScript (the map, its layers and their GeoJSON), and moving that into files would
mean storing every rendered page, so each answer gets a fresh random nonce (`page_nonce`, set by the app's
security-header middleware for the duration of one request) and the templates put it on the scripts they
write: Folium's page script (`nonce_figure`), our plain pages' `{{ nonce }}`. Nothing adds a nonce by searching
a rendered page for `<script`, so a script injected through data, had escaping failed, would not run. Hashes
would do the same, but a Folium page's inline script changes with its data, so they would be computed per
answer from the page: a nonce is cheaper and says more plainly what is trusted.

/docs (FastAPI's Swagger UI page, no user data in it) is trusted by the hashes of its inline scripts instead.

Styles allow 'unsafe-inline': Leaflet, Folium and our builders write style attributes and <style> blocks; a
style cannot run code, and keeping them would mean rewriting Folium's templates. Images may come from the
configured basemap's tile hosts.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_NONCE: ContextVar[str | None] = ContextVar("gridgov_csp_nonce", default=None)

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def new_nonce() -> str:
    """A fresh nonce: 128 random bits, base64url."""
    return secrets.token_urlsafe(16)


def current_nonce() -> str | None:
    """The nonce of the answer being built, or None outside a request (exported files, tests)."""
    return _NONCE.get()


@contextmanager
def page_nonce(nonce: str) -> Iterator[str]:
    """Pages rendered inside this block put `nonce` on their inline scripts."""
    token = _NONCE.set(nonce)
    try:
        yield nonce
    finally:
        _NONCE.reset(token)


def nonce_attr() -> str:
    """` nonce="…"` for an inline <script> tag, or "" outside a request."""
    nonce = current_nonce()
    return f' nonce="{nonce}"' if nonce else ""


def script_hashes(html: str) -> list[str]:
    """CSP sources ('sha256-…') of the inline scripts of a page the app trusts as a whole (/docs)."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def policy(*, nonce: str | None = None, hashes: Iterable[str] = (), image_hosts: Iterable[str] = ()) -> str:
    """The Content-Security-Policy header: own scripts (and the answer's nonce or `hashes`), own styles and
    fonts, images from the app and `image_hosts` (basemap tiles), framed only by the app's own pages."""
    scripts = ["'self'", *([f"'nonce-{nonce}'"] if nonce else []), *hashes]
    tiles = sorted({_source(h) for h in image_hosts})
    images = ["'self'", "data:", "blob:", *(f"https://{h} http://{h}" for h in tiles)]
    return "; ".join(
        (
            "default-src 'self'",
            "script-src " + " ".join(scripts),
            "style-src 'self' 'unsafe-inline'",
            "img-src " + " ".join(images),
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


def _source(host: str) -> str:
    """A tile host as a CSP source: a Leaflet subdomain template (`webrd0{s}.is.autonavi.com`, `t{s}.tianditu…`)
    becomes the wildcard of its first label (`*.is.autonavi.com`)."""
    first, _, rest = host.partition(".")
    return f"*.{rest}" if "{" in first and rest else host


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # tile servers keyed to a domain (天地图 browser keys) still see our origin; never a path or a fragment
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",  # frame-ancestors for browsers that do not read it
}
