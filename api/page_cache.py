"""Public map pages built once per data version: the compound and community pages (anonymous, opened from QR
codes) cost ~1 s of folium rendering each, so the HTML is kept per page and per fingerprint of the data it
shows, and revalidated with an ETag.

The fingerprint is a hash of the page's data as read for this request (the queries are cheap, the walking reach
is cached by gis.mapdata.reach), so a changed contact, resource or boundary is a new version at once and a
cached page is never stale. The cached HTML carries a placeholder where each answer's CSP nonce goes; the nonce
is written in per answer. A 304 carries no Content-Security-Policy (api.app.SecurityHeaders), so the browser
keeps the policy stored with the body it already has.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import is_dataclass, replace
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from maps.csp import current_nonce, page_nonce

_PLACEHOLDER = "ggCachedPageNonce0000"  # base64url characters, as a real nonce; never sent
_CAP = 256  # pages kept per process (least recently used dropped)
_pages: OrderedDict[tuple[str, str], str] = OrderedDict()
_lock = threading.Lock()


def data_version(*parts: Any) -> str:
    """A short fingerprint of the data a page shows (dataclasses, dicts, dates …); a dataclass's `generated_at`
    (when it was read) is left out: the page then says when its version was first built."""
    parts = tuple(_undated(p) for p in parts)
    raw = orjson.dumps(parts, default=str, option=orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def _undated(part: Any) -> Any:
    if is_dataclass(part) and not isinstance(part, type) and hasattr(part, "generated_at"):
        return replace(part, generated_at=None)
    return part


def cached_page(request: Request, version: str, render: Callable[[], str], headers: dict[str, str]) -> Response:
    """The page at this request's path for data `version`: 304 when the client has it, else from the cache
    (rendered by `render` the first time), with this answer's nonce written in."""
    etag = f'"{version}"'
    headers = {**headers, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    key = (request.url.path, version)
    with _lock:
        html = _pages.get(key)
        if html is not None:
            _pages.move_to_end(key)
    if html is None:
        with page_nonce(_PLACEHOLDER):
            html = render()
        with _lock:
            _pages[key] = html
            while len(_pages) > _CAP:
                _pages.popitem(last=False)
    return HTMLResponse(html.replace(_PLACEHOLDER, current_nonce() or ""), headers=headers)
