"""Local JS/CSS/fonts for every map page: the one place that replaces folium's CDN URLs.

Users sit on government intranets, so a page never loads anything from a public CDN. Folium's `Map`
and each plugin declare their assets in `default_js` / `default_css` (several pinned to `@latest`);
`use_local_assets()` rewrites them to pinned files installed from the npm registry into
`node_modules/` (see package.json) and served by the app under `/assets/<package>@<version>/<file>`.
Folium's heat plugin ships inside the folium package and is served from there.

`inline_assets()` turns a served page into a standalone file (scripts, styles, fonts and images
inlined as data: URIs) for `gridgov map export`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import folium
import folium.plugins
from folium.elements import JSCSSMixin

from gis.errors import NotFound

PREFIX = "/assets"
STATIC_DIR = Path(__file__).resolve().parent / "static"  # our own page scripts and styles
# The map pages' scripts, in loading order: gg_auth.js (token, log-in, gg.api) first on every page of the app.
MAP_SCRIPTS = ("gg_auth.js", "gg_page.js", "gg_remote.js", "gg_tickets.js")
# The plan editor's scripts, in loading order: the first holds the state and the map the others build on.
EDITOR_SCRIPTS = ("gg_auth.js", "plan_editor.js", "plan_cells.js", "plan_areas.js", "plan_panels.js")
# The field app (/field): gg_auth.js, then the offline queue (IndexedDB through idb), then the page.
FIELD_SCRIPTS = ("gg_auth.js", "field_queue.js", "field_volunteer.js", "field.js")
PATROL_MAP_SCRIPTS = ("gg_auth.js", "patrol_map.js")
# The admin console (/admin/…): gg_auth.js, then the forms-and-tables script over the /v1 reference endpoints.
ADMIN_SCRIPTS = ("gg_auth.js", "admin.js")
NOTIFY_SCRIPTS = ("gg_auth.js", "notify.js")  # /maps/notifications (maps/notify_page.py)
# The evaluation dashboard (/maps/dashboard): ECharts and Leaflet first, then gg_auth.js and the page.
DASHBOARD_SCRIPTS = ("gg_auth.js", "dashboard.js")
PAGE_FILES = (*MAP_SCRIPTS, "gg_plan_shell.js", "maps.css", *EDITOR_SCRIPTS)
OWN_FILES = tuple(
    dict.fromkeys(
        (
            *PAGE_FILES,
            *FIELD_SCRIPTS,
            "field.css",
            *PATROL_MAP_SCRIPTS,
            *ADMIN_SCRIPTS,
            "admin.css",
            *NOTIFY_SCRIPTS,
            *DASHBOARD_SCRIPTS,
            "dashboard.css",
        )
    )
)  # "gridgov"


def _static_version() -> str:
    """A content hash, so the long-cached URL changes whenever one of our own files does."""
    digest = hashlib.sha256()
    for name in OWN_FILES:
        digest.update((STATIC_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Package:
    """An npm package (or folium itself) and the files of it that pages may load."""

    name: str
    version: str
    files: tuple[str, ...]
    dirs: tuple[str, ...] = ()  # whole folders of images / fonts referenced from the CSS

    def url(self, file: str) -> str:
        return f"{PREFIX}/{self.name}@{self.version}/{file}"

    def allows(self, file: str) -> bool:
        return file in self.files or any(file.startswith(d) and "/" not in file[len(d) :] for d in self.dirs)


# Versions must equal package.json (tests/maps/test_assets.py checks it against node_modules too).
PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package("leaflet", "1.9.4", ("dist/leaflet.js", "dist/leaflet.css"), ("dist/images/",)),
        Package("jquery", "3.7.1", ("dist/jquery.min.js",)),
        Package(
            "leaflet.awesome-markers",
            "2.0.5",
            ("dist/leaflet.awesome-markers.js", "dist/leaflet.awesome-markers.css"),
            ("dist/images/",),
        ),
        Package(
            "@fortawesome/fontawesome-free",
            "6.7.2",
            ("css/fontawesome.min.css", "css/solid.min.css"),
            ("webfonts/",),
        ),
        Package(
            "leaflet.markercluster",
            "1.5.3",
            ("dist/leaflet.markercluster.js", "dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"),
        ),
        Package("leaflet-search", "4.0.0", ("dist/leaflet-search.min.js", "dist/leaflet-search.min.css"), ("images/",)),
        Package(
            "leaflet.fullscreen",
            "3.0.2",
            ("Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg"),
        ),
        Package("leaflet.vectorgrid", "1.3.0", ("dist/Leaflet.VectorGrid.bundled.min.js",)),
        Package("leaflet.featuregroup.subgroup", "1.0.2", ("dist/leaflet.featuregroup.subgroup.js",)),
        Package("@geoman-io/leaflet-geoman-free", "2.18.3", ("dist/leaflet-geoman.js", "dist/leaflet-geoman.css")),
        # the field app: IndexedDB (its offline queue) and the service worker's Workbox modules
        Package("idb", "8.0.4", ("build/umd.js",)),
        # the evaluation dashboard's charts
        Package("echarts", "6.1.0", ("dist/echarts.min.js",)),
        Package("workbox-core", "7.4.1", ("build/workbox-core.prod.js",)),
        Package("workbox-routing", "7.4.1", ("build/workbox-routing.prod.js",)),
        Package("workbox-strategies", "7.4.1", ("build/workbox-strategies.prod.js",)),
        Package("workbox-precaching", "7.4.1", ("build/workbox-precaching.prod.js",)),
        # not from npm: the heat plugin file folium ships (with its weights fix), and our own files
        Package("folium", version("folium"), ("templates/leaflet_heat.min.js",)),
        Package("gridgov", _static_version(), OWN_FILES),
    )
}


def asset(package: str, file: str) -> str:
    """The local URL of one allowed file, e.g. asset("leaflet", "dist/leaflet.js")."""
    pkg = PACKAGES[package]
    if not pkg.allows(file):
        raise KeyError(f"{package}/{file} is not in the asset allow-list (maps/assets.py)")
    return pkg.url(file)


LEAFLET_JS = ("leaflet", asset("leaflet", "dist/leaflet.js"))
JQUERY_JS = ("jquery", asset("jquery", "dist/jquery.min.js"))
AWESOME_JS = ("awesome_markers", asset("leaflet.awesome-markers", "dist/leaflet.awesome-markers.js"))
LEAFLET_CSS = ("leaflet_css", asset("leaflet", "dist/leaflet.css"))
FA_CSS = ("awesome_markers_font_css", asset("@fortawesome/fontawesome-free", "css/fontawesome.min.css"))
FA_SOLID_CSS = ("fontawesome_solid_css", asset("@fortawesome/fontawesome-free", "css/solid.min.css"))
AWESOME_CSS = ("awesome_markers_css", asset("leaflet.awesome-markers", "dist/leaflet.awesome-markers.css"))
CLUSTER_JS = ("markerclusterjs", asset("leaflet.markercluster", "dist/leaflet.markercluster.js"))
CLUSTER_CSS = [
    ("markerclustercss", asset("leaflet.markercluster", "dist/MarkerCluster.css")),
    ("markerclusterdefaultcss", asset("leaflet.markercluster", "dist/MarkerCluster.Default.css")),
]
VECTORGRID_JS = ("vectorGrid", asset("leaflet.vectorgrid", "dist/Leaflet.VectorGrid.bundled.min.js"))
HEAT_JS = ("leaflet-heat.js", asset("folium", "templates/leaflet_heat.min.js"))
PAGE_JS = [(f"gridgov_{name.removesuffix('.js')}", asset("gridgov", name)) for name in MAP_SCRIPTS]
PAGE_CSS = ("gridgov_maps_css", asset("gridgov", "maps.css"))

# class -> (js, css). Folium's Bootstrap JS/CSS are dropped (only notebooks need them; our pages bring
# their own styles), so are the Bootstrap 3 glyphicons (we use Font Awesome icons) and the
# icon-rotation CSS fetched from GitHub. jQuery stays: folium's popup template calls $(…).
_LOCAL: dict[type[JSCSSMixin], tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    folium.Map: (
        [LEAFLET_JS, JQUERY_JS, AWESOME_JS],
        [LEAFLET_CSS, FA_CSS, FA_SOLID_CSS, AWESOME_CSS],
    ),
    folium.plugins.MarkerCluster: ([CLUSTER_JS], CLUSTER_CSS),
    folium.plugins.FastMarkerCluster: ([CLUSTER_JS], CLUSTER_CSS),
    folium.plugins.HeatMap: ([HEAT_JS], []),
    folium.plugins.FeatureGroupSubGroup: (
        [("featuregroupsubgroupjs", asset("leaflet.featuregroup.subgroup", "dist/leaflet.featuregroup.subgroup.js"))],
        [],
    ),
    folium.plugins.Search: (
        [("Leaflet.Search.js", asset("leaflet-search", "dist/leaflet-search.min.js"))],
        [("Leaflet.Search.css", asset("leaflet-search", "dist/leaflet-search.min.css"))],
    ),
    folium.plugins.Fullscreen: (
        [("Control.Fullscreen.js", asset("leaflet.fullscreen", "Control.FullScreen.js"))],
        [("Control.FullScreen.css", asset("leaflet.fullscreen", "Control.FullScreen.css"))],
    ),
    folium.plugins.VectorGridProtobuf: ([VECTORGRID_JS], []),
    folium.plugins.GeoMan: (
        [("leaflet_geoman_js", asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.js"))],
        [("leaflet_geoman_css", asset("@geoman-io/leaflet-geoman-free", "dist/leaflet-geoman.css"))],
    ),
}

_installed = False


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def use_local_assets() -> None:
    """Point folium's Map and plugins at the app's own pinned files (idempotent).

    Classes inheriting from a rewritten one (folium's own or ours) get the same files unless they
    declare their own; any other class keeps its CDN URLs, and `outside_urls()` (checked on every
    render in maps/core.py) refuses the page that uses it, naming the URL.
    """
    global _installed
    if _installed:
        return
    for cls, (js, css) in _LOCAL.items():
        cls.default_js = list(js)
        cls.default_css = list(css)
    _installed = True


def local_links(cls: type[JSCSSMixin]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The local (js, css) of a folium class, for our own JSCSSMixin elements."""
    js, css = _LOCAL[cls]
    return list(js), list(css)


# --- serving --------------------------------------------------------------------------------------

_PACKAGE_RE = re.compile(r"^(?P<name>(?:@[a-z0-9._-]+/)?[a-z0-9._-]+)@(?P<version>[0-9A-Za-z.+-]+)/(?P<file>.+)$")

MEDIA_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
}


def package_root(pkg: Package, assets_dir: Path) -> Path:
    if pkg.name == "folium":
        return Path(folium.__file__).resolve().parent
    if pkg.name == "gridgov":
        return STATIC_DIR
    return assets_dir / pkg.name


def resolve_asset(path: str, *, assets_dir: Path) -> tuple[Path, str]:
    """File and media type for `<package>@<version>/<file>`; NotFound unless allow-listed and present."""
    m = _PACKAGE_RE.match(path)
    pkg = PACKAGES.get(m["name"]) if m else None
    if m is None or pkg is None or m["version"] != pkg.version or not pkg.allows(m["file"]):
        raise NotFound(f"no such asset {path!r}; pages load only the pinned files listed in maps/assets.py")
    root = package_root(pkg, assets_dir).resolve()
    file = (root / m["file"]).resolve()
    media = MEDIA_TYPES.get(file.suffix)
    if not file.is_relative_to(root) or media is None or not file.is_file():
        raise NotFound(f"asset {path!r} is allowed but not installed under {root}; run `make assets` (npm ci)")
    return file, media


@lru_cache(maxsize=8)
def installed_versions(assets_dir: Path) -> dict[str, str | None]:
    """Version of each npm package found in node_modules (None when missing)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        if name in ("folium", "gridgov"):
            continue
        manifest = assets_dir / name / "package.json"
        out[name] = json.loads(manifest.read_text())["version"] if manifest.is_file() else None
    return out


# --- checking and standalone export -------------------------------------------------------------

_URL_RE = re.compile(r"""(?:https?:)?//([A-Za-z0-9.{}-]+(?::\d+)?)""")
# Strings that look like URLs but load nothing: XML namespaces of inline SVG.
_NAMESPACES = ("www.w3.org",)


def outside_urls(html: str, *, allowed_hosts: tuple[str, ...] = ()) -> list[str]:
    """Every http(s) URL in a page whose host is not local, an XML namespace or explicitly allowed."""
    local = ("127.0.0.1", "localhost", *allowed_hosts, *_NAMESPACES)
    bad = []
    for m in re.finditer(r"""https?://[^\s"'`<>)]+""", html):
        host_m = _URL_RE.match(m.group(0))
        host = host_m.group(1) if host_m else ""
        if host.split(":")[0] not in {h.split(":")[0] for h in local}:
            bad.append(m.group(0))
    return bad


_SCRIPT_RE = re.compile(r'<script src="(/assets/[^"]+)"></script>')
_CSS_RE = re.compile(r'<link rel="stylesheet" href="(/assets/[^"]+)"\s*/?>')
_CSS_URL_RE = re.compile(r"""url\((['"]?)([^)'"]+)\1\)""")
_TTF_FALLBACK_RE = re.compile(r""",\s*url\([^)]*\.ttf\)\s*format\(["']truetype["']\)""")
_IMG_RE = re.compile(r'(<img\b[^>]*\bsrc=")(/[^"]+)(")')

Resolver = Callable[[str], tuple[bytes, str] | None]


def data_uri(content: bytes, media_type: str) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def _read(url: str, assets_dir: Path) -> tuple[bytes, str]:
    file, media = resolve_asset(url.removeprefix(PREFIX + "/").split("?")[0].split("#")[0], assets_dir=assets_dir)
    return file.read_bytes(), media


def _inline_css(css: str, css_url: str, assets_dir: Path) -> str:
    css = _TTF_FALLBACK_RE.sub("", css)  # woff2 is enough for every browser that runs Leaflet 1.9
    base = posixpath.dirname(css_url)

    def repl(m: re.Match[str]) -> str:
        ref = m.group(2)
        if ref.startswith(("#", "data:")):
            return m.group(0)
        content, media = _read(posixpath.normpath(posixpath.join(base, ref)), assets_dir)
        return f'url("{data_uri(content, media)}")'

    return _CSS_URL_RE.sub(repl, css)


def inline_assets(html: str, *, assets_dir: Path, resolve: Resolver | None = None) -> str:
    """A standalone page: local scripts, styles (with their fonts/images) and images inlined.

    `resolve` serves other local image URLs (e.g. /v1/avatars/…) as (bytes, media type).
    """

    def script(m: re.Match[str]) -> str:
        code = _read(m.group(1), assets_dir)[0].decode("utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def style(m: re.Match[str]) -> str:
        css = _inline_css(_read(m.group(1), assets_dir)[0].decode("utf-8"), m.group(1), assets_dir)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    def image(m: re.Match[str]) -> str:
        found = resolve(m.group(2)) if resolve else None
        if found is None:
            return m.group(0)
        return m.group(1) + data_uri(*found) + m.group(3)

    html = _SCRIPT_RE.sub(script, html)
    html = _CSS_RE.sub(style, html)
    return _IMG_RE.sub(image, html)
