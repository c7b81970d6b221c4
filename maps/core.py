"""Layer composition shared by every map page.

A page is a list of layers and a layer is one function `(map, ctx, data) -> None` that adds what it
draws (and its legend rows) to the map. Pages take their data as plain objects from gis.mapdata and
never touch the database. `render_page` returns the HTML and refuses any page that would load
something from an outside host (`ensure_local`).

Pages without a map (the ticket page, the plan diff shell, the plan editor) are Jinja2 templates in
maps/templates/ with autoescape on, rendered by `render_template`; their scripts are static files too.
"""

from __future__ import annotations

import html as _html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

import folium
import jinja2
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from gis.resources import SHANGHAI
from maps.assets import PAGE_CSS, PAGE_JS, asset, outside_urls, use_local_assets
from maps.basemaps import Basemap, project_features, project_geometry
from maps.csp import current_nonce

D = TypeVar("D")
Layer = Callable[[folium.Map, "PageContext", D], None]


class OutsideAssetError(RuntimeError):
    """A page referenced a host other than the app, the configured base URL or the basemap."""


def esc(value: Any) -> str:
    """HTML-escape for folium popups, which are pasted into a JS template literal: also neutralise
    backticks, `${` and backslashes."""
    text = "" if value is None else str(value)
    return _html.escape(text).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


@dataclass
class PageContext:
    """What every layer may need besides its data: basemap/projection, links, legend rows."""

    title: str
    basemap: Basemap
    base_url: str  # settings.maps.public_base_url, e.g. http://127.0.0.1:8000
    path: str  # this page's path, e.g. /maps/compounds/…
    standalone: bool = False  # exported file: links must be absolute, assets inlined afterwards
    generated_at: datetime = field(default_factory=lambda: datetime.now(SHANGHAI))  # dates shown in 北京时间
    legend: list[str] = field(default_factory=list)  # HTML rows, in drawing order

    @property
    def page_url(self) -> str:
        return self.base_url.rstrip("/") + self.path

    def link(self, path: str) -> str:
        """A link to another page of the app (absolute in an exported file)."""
        return self.base_url.rstrip("/") + path if self.standalone else path

    def latlon(self, lon: float, lat: float) -> list[float]:
        x, y = self.basemap.project(lon, lat)
        return [y, x]

    def bounds(self, box: tuple[float, float, float, float]) -> list[list[float]]:
        return [self.latlon(box[0], box[1]), self.latlon(box[2], box[3])]

    def features(self, fc: dict[str, Any]) -> dict[str, Any]:
        return project_features(fc, self.basemap.project)

    def geometry(self, geometry: dict[str, Any]) -> dict[str, Any]:
        return project_geometry(geometry, self.basemap.project) or geometry

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return (urlsplit(self.base_url).netloc, *self.basemap.hosts)


class PageAssets(JSCSSMixin, MacroElement):
    """Our page script and styles (maps/static), served like the npm assets."""

    default_js = PAGE_JS
    default_css = [PAGE_CSS]
    _template = Template("")


class Script(MacroElement):
    """JavaScript run after the map and the layers added before it exist; `{map}` names the map."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this.code.replace('{map}', this._parent.get_name()) }}{% endmacro %}"
    )

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Script"
        self.code = code


class Control(MacroElement):
    """A Leaflet control holding static HTML (legend, notes)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function () {
            var c = L.control({position: {{ this.position|tojson }}});
            c.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}"""
    )

    def __init__(self, html: str, *, position: str = "bottomright", css_class: str = "gg-legend") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Control"
        self.html = html
        self.position = position
        self.css_class = css_class


class ScaleBar(MacroElement):
    """Metric scale bar (kept when printing)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 160, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )


def new_map(ctx: PageContext, *, location: list[float] | None = None) -> folium.Map:
    """An empty page map: local assets, configured basemap (none = plain background), no CDN."""
    use_local_assets()
    m = folium.Map(
        location=location or [0, 0],
        zoom_start=15,
        tiles=None,
        control_scale=False,
        zoom_snap=0.5,
        font_size="0.9rem",
    )
    m.options["maxZoom"] = 20  # folium's max_zoom only reaches its tile layer; clusters need the map's
    root = m.get_root()
    root.title = ctx.title  # type: ignore[attr-defined]
    # no /favicon.ico request (it would be one more failed request on an intranet page)
    root.header.add_child(Element('<link rel="icon" href="data:,">'), name="favicon")  # type: ignore[attr-defined]
    ctx.basemap.add_to(m)
    m.add_child(PageAssets())  # type: ignore[no-untyped-call]
    m.add_child(ScaleBar())  # type: ignore[no-untyped-call]
    return m


def add_html(m: folium.Map, html: str) -> None:
    """Static HTML in the page body (header bar, side panel); placed by the CSS grid."""
    m.get_root().html.add_child(Element(html))  # type: ignore[attr-defined]


def legend_row(symbol_html: str, label: str) -> str:
    return f'<div class="gg-row">{symbol_html}<span>{esc(label)}</span></div>'


def swatch(fill: str, stroke: str, *, dashed: bool = False) -> str:
    """A small legend box: `fill` any CSS colour (rgba for see-through), `stroke` its border."""
    style = f"background:{fill};border-color:{stroke};" + ("border-style:dashed;" if dashed else "")
    return f'<span class="gg-swatch" style="{style}"></span>'


def geojson_layer(
    m: folium.Map | folium.FeatureGroup,
    ctx: PageContext,
    fc: dict[str, Any],
    *,
    name: str,
    style: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
    fields: Sequence[str],
    aliases: Sequence[str] | None = None,
    popup_fields: Sequence[str] = (),
    popup_aliases: Sequence[str] | None = None,
) -> bool:
    """A named, projected GeoJSON overlay with a hover tooltip of `fields` (labelled `aliases`, or values alone
    when None), and a click popup of `popup_fields` when given; nothing when `fc` has no feature. `style` is one
    style for every feature or a function of the feature. Folium pastes tooltip and popup values into HTML as
    they are, so their text values are escaped here (names come from imported files). True when drawn."""
    if not fc["features"]:
        return False
    popup = (
        folium.GeoJsonPopup(fields=list(popup_fields), aliases=list(popup_aliases or popup_fields))
        if popup_fields
        else None
    )
    folium.GeoJson(
        ctx.features(escaped(fc, (*fields, *popup_fields))),
        name=name,
        style_function=style if callable(style) else lambda _f: style,
        tooltip=folium.GeoJsonTooltip(fields=list(fields), aliases=list(aliases or fields), labels=aliases is not None),
        popup=popup,
    ).add_to(m)
    return True


def escaped(geojson: dict[str, Any], fields: Sequence[str] | None = None) -> dict[str, Any]:
    """A Feature or FeatureCollection with its text properties `fields` (all when None) HTML-escaped: for the
    Leaflet plugins that paste property values into HTML as they are (folium's GeoJsonTooltip/GeoJsonPopup,
    leaflet-search's list)."""
    if geojson.get("type") == "FeatureCollection":
        return {**geojson, "features": [escaped(f, fields) for f in geojson["features"]]}
    shown = None if fields is None else set(fields)
    props = geojson.get("properties") or {}
    return {
        **geojson,
        "properties": {
            k: _html.escape(v) if (shown is None or k in shown) and isinstance(v, str) else v for k, v in props.items()
        },
    }


def build_page(
    ctx: PageContext,
    data: D,
    layers: Sequence[Layer[D]],
    *,
    init: dict[str, Any] | None = None,
    layer_control: bool = True,
) -> folium.Map:
    """Compose a page: each layer in order, then the legend, layer control and the page script."""
    bounds = (init or {}).get("bounds")
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else None
    m = new_map(ctx, location=centre)
    for layer in layers:
        layer(m, ctx, data)
    if ctx.legend:
        legend = "<details open><summary>图例</summary>" + "".join(ctx.legend) + "</details>"
        m.add_child(Control(legend))
    if layer_control:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.add_child(Script(f"gg.init({{map}}, {json.dumps(init or {})});"))
    return m


_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport" content="width=device-width,\s*initial-scale=1\.0,[^"]*"\s*/>')
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'


def ensure_local(html: str, ctx: PageContext) -> str:
    """`html` unchanged, or OutsideAssetError when it references a host other than the app's and the basemap's."""
    bad = outside_urls(html, allowed_hosts=ctx.allowed_hosts)
    if bad:
        raise OutsideAssetError(f"page {ctx.path} references outside hosts: {sorted(set(bad))[:5]}")
    return html


# branca's Figure template, with the answer's CSP nonce on the page script (maps/csp.py)
_FIGURE = Template(
    "<!DOCTYPE html>\n"
    '<html lang="zh-CN">\n'
    "<head>\n"
    "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
    "    {{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    '<script{% if this.csp_nonce %} nonce="{{ this.csp_nonce }}"{% endif %}>\n'
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n"
)
# folium's only other inline script sets two Leaflet switches to their defaults (false = absent): dropped, so
# that the page script is the one inline script of a map page
_GLOBAL_SWITCHES = re.compile(r"<script>\s*L_NO_TOUCH = false;\s*L_DISABLE_3D = false;\s*</script>")


def render_page(m: folium.Map, ctx: PageContext) -> str:
    """The page's HTML: Chinese language tag, pinch-zoom allowed (folium forbids it: residents are often
    elderly), the page script under the answer's CSP nonce, and a refusal to serve anything that would load
    from an outside host."""
    root = m.get_root()
    root._template = _FIGURE
    root.csp_nonce = current_nonce()  # type: ignore[attr-defined]
    page = _GLOBAL_SWITCHES.sub("", root.render(), count=1)
    return ensure_local(_FOLIUM_VIEWPORT.sub(VIEWPORT, page, count=1), ctx)


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    """The plain pages' templates (maps/templates), autoescaped; `tojson` keeps Chinese text readable."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("maps", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False}
    return env


def render_template(name: str, **values: Any) -> str:
    """One page of maps/templates with `values` (autoescaped) and `nonce`, the answer's CSP nonce for the
    template's inline scripts (None outside a request); no outside-host check (see ensure_local)."""
    return templates().get_template(name).render(nonce=current_nonce(), **values)


def render_plain_page(name: str, ctx: PageContext, *, scripts: Sequence[str] = (), **values: Any) -> str:
    """A plain page of the app (ticket page, plan diff shell): `name` from maps/templates, extending
    _document.html, with our scripts `scripts` (files of maps/static) in its <head>; checked by ensure_local."""
    html = render_template(
        name,
        title=ctx.title,
        styles=[ctx.link(PAGE_CSS[1])],
        scripts=[ctx.link(asset("gridgov", file)) for file in scripts],
        link=ctx.link,
        **values,
    )
    return ensure_local(html, ctx)
