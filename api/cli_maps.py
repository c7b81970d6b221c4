"""`gridgov map …` commands: export a map page as one standalone HTML file.

The exported file has every script, style, font and portrait inlined: it opens from a USB stick or an
e-mail attachment with no server and no network (links to other pages point at public_base_url).
This module is CLI glue: it opens the session, the builders stay free of the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import unquote

import typer

from api.cli_common import cli_errors
from gis.settings import Settings, get_settings
from maps.assets import inline_assets
from maps.avatars import AVATAR_PREFIX, avatar_svg
from maps.basemaps import basemap_from_settings
from maps.core import PageContext


def _avatar(url: str) -> tuple[bytes, str] | None:
    """The app's placeholder portrait for /v1/avatars/<name>.svg, rendered without a server."""
    if not (url.startswith(AVATAR_PREFIX) and url.endswith(".svg")):
        return None
    return avatar_svg(unquote(url[len(AVATAR_PREFIX) : -len(".svg")])).encode(), "image/svg+xml"


def export_page(kind: str, code: str, settings: Settings) -> str:
    """Standalone HTML of the compound or community resource map `code`."""
    from gis.db import engine_for, session_scope
    from gis.mapdata import community_map_data, compound_map_data
    from maps.community_map import community_page
    from maps.resource_map import compound_page

    basemap = basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key)
    with session_scope(engine_for(settings.sqlalchemy_url)) as session:
        if kind == "compound":
            data = compound_map_data(session, code)
            ctx = PageContext(
                title=f"{data.compound['name']} · 小区服务资源地图",
                basemap=basemap,
                base_url=settings.maps.public_base_url,
                path=f"/maps/compounds/{code}",
                standalone=True,
            )
            html = compound_page(data, ctx)
        else:
            cdata = community_map_data(session, code)
            ctx = PageContext(
                title=f"{cdata.community['properties']['name']} · 社区服务资源地图",
                basemap=basemap,
                base_url=settings.maps.public_base_url,
                path=f"/maps/communities/{code}",
                standalone=True,
            )
            html = community_page(cdata, ctx)
    return inline_assets(html, assets_dir=settings.maps.assets_dir, resolve=_avatar)


def register(app: typer.Typer) -> None:
    """Add `map export compound|community CODE -o FILE` to the gridgov CLI."""
    map_app = typer.Typer(help="map pages", no_args_is_help=True)
    export_app = typer.Typer(help="export a map page as one standalone HTML file (works offline)")
    map_app.add_typer(export_app, name="export")
    app.add_typer(map_app, name="map")

    def run(kind: str, code: str, output: Path) -> None:
        with cli_errors():
            html = export_page(kind, code, get_settings())
        output.write_text(html, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(html.encode()) / 1024:.0f} KB, no network needed)")

    @export_app.command("compound")
    def export_compound(
        code: str, output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")]
    ) -> None:
        """小区服务资源地图 of one compound."""
        run("compound", code, output)

    @export_app.command("community")
    def export_community(
        code: str, output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")]
    ) -> None:
        """社区服务资源地图 of one community."""
        run("community", code, output)
