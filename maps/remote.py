"""Layers whose data the page fetches by bounding box (on load and after every pan/zoom), so a page is
the same size for a thousand features or a million. Each is a folium Layer, so the layer control
lists it; the fetching and drawing live in maps/static/maps.js (gg.remote, gg.loaders)."""

from __future__ import annotations

from typing import Any

import folium.plugins
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from maps.assets import HEAT_JS, local_links


class RemoteLayer(JSCSSMixin, Layer):
    """A layer filled from `url?bbox=…&zoom=…&crs=…[&params]`; `auth` sends the stored bearer token."""

    kind = "choropleth"
    factory = "L.geoJSON(null, {})"
    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.factory }};
        gg.remote({{ this._parent.get_name() }}, {{ this.get_name() }}, {{ this.spec|tojson }});
        {% endmacro %}"""
    )

    def __init__(
        self,
        *,
        name: str,
        url: str,
        label: str,
        crs: str,
        auth: bool,
        params: dict[str, str] | None = None,
        min_zoom: float = 0,
        show: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RemoteLayer"
        self.spec: dict[str, Any] = {
            "id": self.get_name(),
            "kind": self.kind,
            "url": url,
            "label": label,
            "crs": crs,
            "auth": auth,
            "params": params or {},
            "minZoom": min_zoom,
            **(extra or {}),
        }


class RemoteChoropleth(RemoteLayer):
    """Polygons coloured by `properties.value` with the classes the endpoint sends in `metric`."""

    kind = "choropleth"
    factory = "L.geoJSON(null, {})"


class RemoteCluster(RemoteLayer):
    """Points as icon markers in a markercluster group; `extra={"icons": {type: [icon, colour]}}`."""

    kind = "cluster"
    factory = "L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 50})"
    default_js, default_css = local_links(folium.plugins.MarkerCluster)


class RemoteParticipation(RemoteLayer):
    """志愿服务: open service items (small green dots) and one label per community with its participation
    figures (members, hours this month, open items); drawn by gg.loaders.participation, which also fills the
    side panel's #gg-participation card when the page has one."""

    kind = "participation"
    factory = "L.featureGroup()"


class RemoteHeat(RemoteLayer):
    """[[lat, lon, weight], …] drawn by Leaflet.heat."""

    kind = "heat"
    factory = "L.heatLayer([], {radius: 22, blur: 18, minOpacity: 0.3})"
    default_js = [HEAT_JS]
    default_css: list[tuple[str, str]] = []


def add_heat(m: Any, ctx: Any, path: str, name: str, extra: dict[str, Any] | None = None) -> None:
    """A heatmap of a `/maps/data/…` endpoint for logged-in users, off until switched on in the layer control."""
    RemoteHeat(
        name=name, url=ctx.link(path), label=name, crs=ctx.basemap.crs, auth=True, show=False, extra=extra
    ).add_to(m)


class RemoteTickets(RemoteLayer):
    """Ticket points as small dots in their own markercluster group (red when overdue); the spec carries
    the Chinese labels (`categories`, `states`) and `ticketUrl`, the ticket page's path prefix."""

    kind = "tickets"
    factory = (
        "L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 45, disableClusteringAtZoom: 18, "
        "chunkedLoading: true, "
        "iconCreateFunction: gg.ticketClusterIcon})"
    )
    default_js, default_css = local_links(folium.plugins.MarkerCluster)


class TicketTiles(RemoteLayer):
    """The tickets as Mapbox vector tiles (/tiles/tickets/{z}/{x}/{y}.pbf, the user's bearer token on every tile
    request) drawn by Leaflet.VectorGrid on canvas: dots red when overdue now, the panel's ticket filters applied
    in the browser, a click fetches the ticket (/v1/tickets/{id}) for its popup. No cap on the tickets in view
    (at most 20,000 per tile, gis/tiles.py); below the layer's minimum zoom the status asks to zoom in.
    Drawn by gg.ticketTiles (maps/static/gg_tickets.js); only on WGS-84 basemaps (tiles are not shifted)."""

    kind = "ticketTiles"
    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = gg.ticketTiles({{ this._parent.get_name() }}, {{ this.spec|tojson }});
        {% endmacro %}"""
    )
    default_js, default_css = local_links(folium.plugins.VectorGridProtobuf)
