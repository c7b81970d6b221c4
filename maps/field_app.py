"""The field app of the grid workers (/field): one mobile page, its service worker, web manifest and icons.

The page is a shell holding no data (maps/templates/field.html); field.js fetches the worker's day with the
token gg_auth.js keeps, and field_queue.js keeps every write (fixes, check-ins, answers, photos, ticket
actions) in IndexedDB until the server has it. The service worker (maps/static/field_sw.js, served at
/field/sw.js so its scope covers /field) precaches the shell and its local assets with Workbox's build files
from node_modules: the app opens with no network. No inline script anywhere (a Content-Security-Policy may
forbid them): the page's settings travel in a JSON data block, the worker's in a first line of its script.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw

from maps.assets import FIELD_SCRIPTS, STATIC_DIR, asset
from maps.core import PageContext, ensure_local, render_template

PATH = "/field"
SW_PATH = "/field/sw.js"
MANIFEST_PATH = "/field/manifest.webmanifest"
ICON_SIZES = (192, 512)
THEME = "#c0392b"  # the red of the 网格 signs

WORKBOX = [
    asset("workbox-core", "build/workbox-core.prod.js"),
    asset("workbox-routing", "build/workbox-routing.prod.js"),
    asset("workbox-strategies", "build/workbox-strategies.prod.js"),
    asset("workbox-precaching", "build/workbox-precaching.prod.js"),
]


def icon_path(size: int) -> str:
    return f"/field/icon-{size}.png"


def page_assets() -> tuple[list[str], list[str]]:
    """(scripts, styles) of the page, in loading order: idb first (field_queue.js uses it)."""
    scripts = [asset("idb", "build/umd.js"), *(asset("gridgov", f) for f in FIELD_SCRIPTS)]
    return scripts, [asset("gridgov", "field.css")]


def field_page(ctx: PageContext) -> str:
    """The app shell (Chinese, mobile-first); checked by ensure_local like every page."""
    scripts, styles = page_assets()
    config = {"sw": SW_PATH, "scope": PATH}
    html = render_template(
        "field.html",
        title=ctx.title,
        styles=styles,
        scripts=scripts,
        config=config,
        manifest=MANIFEST_PATH,
        icon=icon_path(192),
        theme=THEME,
    )
    return ensure_local(html, ctx)


def _revision(content: str | bytes) -> str:
    data = content.encode() if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()[:16]


def precache_list(page_html: str) -> list[dict[str, Any]]:
    """What the service worker keeps for offline use: the shell (revisioned by its content), the manifest
    and icons, and the assets (their URLs carry their version, so no revision)."""
    scripts, styles = page_assets()
    own = [
        {"url": PATH, "revision": _revision(page_html)},
        {"url": MANIFEST_PATH, "revision": _revision(json.dumps(web_manifest(), sort_keys=True))},
        *({"url": icon_path(s), "revision": "1"} for s in ICON_SIZES),
    ]
    return [*own, *({"url": u, "revision": None} for u in [*scripts, *styles])]


def service_worker(page_html: str) -> str:
    """The worker's script: its settings on a first line, then maps/static/field_sw.js. The bytes change
    whenever the shell or an asset does, so phones pick up a new version on their next visit."""
    settings = {"workbox": WORKBOX, "precache": precache_list(page_html)}
    code = (STATIC_DIR / "field_sw.js").read_text(encoding="utf-8")
    return f"self.GG_FIELD = {json.dumps(settings, ensure_ascii=False)};\n{code}"


def web_manifest() -> dict[str, Any]:
    """The web app manifest: installable on the home screen, opens /field standalone."""
    return {
        "name": "网格员巡查",
        "short_name": "巡查",
        "lang": "zh-CN",
        "start_url": PATH,
        "scope": PATH,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            {"src": icon_path(s), "sizes": f"{s}x{s}", "type": "image/png", "purpose": "any maskable"}
            for s in ICON_SIZES
        ],
    }


@lru_cache(maxsize=len(ICON_SIZES))
def icon_png(size: int) -> bytes:
    """A simple icon drawn in code: a white 3×3 grid on the theme red, with one cell marked."""
    if size not in ICON_SIZES:
        raise ValueError(f"icon sizes are {ICON_SIZES}")
    img = Image.new("RGB", (size, size), THEME)
    draw = ImageDraw.Draw(img)
    margin, step = size // 5, (size - 2 * (size // 5)) // 3
    width = max(2, size // 40)
    for i in range(4):
        pos = margin + i * step
        draw.line([(margin, pos), (margin + 3 * step, pos)], fill="white", width=width)
        draw.line([(pos, margin), (pos, margin + 3 * step)], fill="white", width=width)
    x0 = margin + step
    draw.rectangle([x0 + width, x0 + width, x0 + step - width, x0 + step - width], fill="#f1c40f")
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
