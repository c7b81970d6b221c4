"""The map pages in a real browser (Debian's Chromium driven by Playwright): each page loads with no
console error and no failed request, nothing is fetched from outside the app, and its layers appear.
Screenshots go to test-output/maps/; with GRIDGOV_README_SHOTS=1 the README ones are refreshed too.

The server is a real uvicorn on a free 127.0.0.1 port over the committed test database; the tests
only read (the operations map's token check is replaced by a fixed admin, so no token row is written).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import BearerCredentials, current_user, optional_user
from gis.models import AdminArea, Compound, User
from gis.settings import ROOT, Settings
from tests.browser import CHROMIUM, launch_chromium, serve, wait_until
from tests.conftest import test_database_url as database_url

OUT = ROOT / "test-output" / "maps"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")


def _browser_user() -> User:
    return User(id=0, username="browser-test", full_name="浏览器测试", role="admin", jurisdiction=[])


def _browser_user_if_token(creds: BearerCredentials) -> User | None:
    return _browser_user() if creds is not None else None


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    app = create_app(Settings.for_tests(database_url()))
    app.dependency_overrides[current_user] = _browser_user
    app.dependency_overrides[optional_user] = _browser_user_if_token
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def tile_token(engine: Engine) -> Iterator[str]:
    """A real bearer token (committed, removed afterwards): the ticket tiles look tokens up themselves (gis.tiles)."""
    from gis.auth import create_user, login
    from gis.models import ApiToken

    with Session(engine) as s:
        user = create_user(s, username="browser-tiles", password="test-password", full_name="瓦片测试", role="admin")
        token, _ = login(s, username=user.username, password="test-password")
        s.commit()
        user_id = user.id
    yield token
    with Session(engine) as s:
        s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
        s.execute(delete(User).where(User.id == user_id))
        s.commit()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@dataclass
class Watch:
    """Everything that went wrong while a page loaded, and every URL it asked for."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    auth: dict[str, str | None] = field(default_factory=dict)  # URL -> its Authorization header

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("request", lambda r: self.auth.__setitem__(r.url, r.headers.get("authorization")))

    def outside(self, base: str) -> list[str]:
        return [u for u in self.requests if not u.startswith((base, "data:", "file:"))]


def open_page(
    browser: Any,
    url: str,
    *,
    token: str | None = None,
    size: tuple[int, int] = (1280, 800),
    scripts: tuple[str, ...] = (),
) -> tuple[Any, Watch]:
    """`url` in a new browser context (`scripts` run first in every page, then the token is stored), loaded."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    for script in scripts:
        context.add_init_script(script)
    if token:
        context.add_init_script(f"localStorage.setItem('gridgov.token', {token!r});")
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    return page, watch


def shot(page: Any, name: str, **kw: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / name), **kw)


def shown_resources(page: Any) -> int:
    """Markers on the map plus the markers counted by cluster bubbles."""
    markers = page.locator(".leaflet-marker-pane .awesome-marker").count()
    clustered = sum(int(t) for t in page.locator(".leaflet-marker-pane .marker-cluster span").all_inner_texts())
    return int(markers + clustered)


def compound_code(session: Session) -> str:
    code = session.scalar(select(Compound.code).where(~Compound.code.startswith("99")).order_by(Compound.code))
    assert code
    return code


def test_compound_map(browser: Any, server: str, session: Session) -> None:
    from gis.mapdata import compound_map_data

    code = compound_code(session)
    data = compound_map_data(session, code)
    page, watch = open_page(browser, f"{server}/maps/compounds/{code}")
    assert watch.errors == []
    assert watch.outside(server) == []
    assert page.locator(".leaflet-container").count() == 1
    assert shown_resources(page) == len(data.resources), "every resource is a marker or inside a cluster"
    assert page.locator(".leaflet-overlay-pane path").count() >= 4, "reach, cell, compound, buildings"
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')"), "icon font loaded locally"
    assert page.locator(".gg-board img").count() == 4
    assert all(page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"))
    first = data.resources[0]
    page.locator(f'[data-focus="{first["code"]}"]').click()
    page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    page.wait_for_timeout(700)  # let the zoom / spider animation finish
    assert first["name"] in page.locator(".leaflet-popup-content").inner_text()
    shot(page, "compound.png")
    page.emulate_media(media="print")
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-control-zoom").is_hidden() and page.locator(".leaflet-control-scale").is_visible()
    shot(page, "compound-print.png", full_page=True)
    assert watch.errors == []
    page.context.close()


def test_compound_map_on_a_phone(browser: Any, server: str, session: Session) -> None:
    page, watch = open_page(browser, f"{server}/maps/compounds/{compound_code(session)}", size=(390, 844))
    assert watch.errors == []
    box = page.locator(".folium-map").bounding_box()
    panel = page.locator(".gg-panel").bounding_box()
    assert box and panel and box["width"] == pytest.approx(390, abs=2), "map full width"
    assert panel["y"] >= box["y"] + box["height"] - 1, "the panel follows the map"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    shot(page, "compound-phone.png")
    page.context.close()


def test_community_map(browser: Any, server: str, session: Session) -> None:
    code = session.scalar(select(AdminArea.code).where(AdminArea.level == "community").order_by(AdminArea.code))
    page, watch = open_page(browser, f"{server}/maps/communities/{code}")
    assert watch.errors == [] and watch.outside(server) == []
    assert shown_resources(page) > 0
    assert page.locator(".leaflet-overlay-pane path").count() > 5
    shot(page, "community.png")
    page.context.close()


DRAWN_TICKETS = """() => {
  const e = Object.values(gg.specs).find(x => x.spec.kind === "ticketTiles");
  const out = [];
  Object.values(e.layer._vectorTiles).forEach(t => Object.entries(t._features || {}).forEach(([id, f]) =>
    out.push({id: id, fill: f.feature.options.fillColor})));
  return out;
}"""
# The client point of one drawn ticket near the centre (for a real click on the canvas).
CENTRE_TICKET = """() => {
  const e = Object.values(gg.specs).find(x => x.spec.kind === "ticketTiles"), map = gg.map;
  const z = e.layer._tileZoom, size = e.layer.getTileSize(), box = map.getContainer().getBoundingClientRect();
  const mid = map.getSize().divideBy(2);
  let best = null;
  Object.entries(e.layer._vectorTiles).forEach(([key, t]) => {
    const [x, y] = key.split(":").map(Number);
    Object.entries(t._features || {}).forEach(([id, f]) => {
      const pt = map.layerPointToContainerPoint(L.point(x, y).scaleBy(size).add(f.feature._point)
        .subtract(map.getPixelOrigin()));
      const d = pt.distanceTo(mid);
      if (pt.x > 20 && pt.y > 20 && pt.x < mid.x * 2 - 20 && pt.y < mid.y * 2 - 20 && (!best || d < best.d))
        best = {id: Number(id), x: box.left + pt.x, y: box.top + pt.y, d: d};
    });
  });
  return best;
}"""
RED = "#d7191c"


def settle(page: Any) -> None:
    """Wait until the fetches a change started have been drawn (GeoJSON layers and the ticket tiles)."""
    page.wait_for_timeout(50)
    wait_until(page, "gg.pending === 0 && !gg.tilesLoading", timeout=10_000)


def test_operations_map_loads_layers_by_bbox(browser: Any, server: str, session: Session, tile_token: str) -> None:
    from gis.tickets.models import Ticket

    token = tile_token
    page, watch = open_page(browser, f"{server}/maps/operations", token=token)
    assert watch.errors == [] and watch.outside(server) == []
    wait_until(page, "document.querySelectorAll('.leaflet-overlay-pane path').length > 0", timeout=10_000)
    wait_until(page, "gg.pending === 0 && Object.keys(gg.loads).length >= 3", timeout=10_000)
    settle(page)
    assert any("/maps/data/cells.geojson?" in u and "metric=open_tickets" in u for u in watch.requests)
    assert any("/maps/data/resources.geojson?" in u for u in watch.requests)
    assert not any("/maps/data/tickets.geojson" in u for u in watch.requests), "tickets come as vector tiles"
    tiles = [u for u in watch.requests if "/tiles/tickets/" in u and u.endswith(".pbf")]
    assert tiles, "the tickets layer asks for vector tiles"
    assert all(watch.auth[u] == f"Bearer {token}" for u in tiles), "every tile request carries the bearer token"
    cells = page.locator(".leaflet-overlay-pane path").count()
    assert cells > 10, "the cells choropleth is drawn"
    assert page.locator(".leaflet-gg-ticket-tiles-pane canvas").count() > 0, "tickets are drawn on canvas tiles"
    total = session.scalar(select(func.count()).select_from(Ticket)) or 0
    drawn = page.evaluate(DRAWN_TICKETS)
    assert 0 < len({d["id"] for d in drawn}) <= total, "tickets are drawn from the tiles"
    assert any(d["fill"] == RED for d in drawn) and any(d["fill"] != RED for d in drawn), "overdue ones are red"
    assert "未办结工单" in page.locator(".gg-legend").last.inner_text()
    assert "超期工单" in page.locator(".gg-legend").first.inner_text()
    assert page.locator("#gg-who-name").inner_text() == "浏览器测试"
    assert "过多" not in page.locator("#gg-status").inner_text()
    shot(page, "operations.png")

    # 志愿服务 (issue 17): off by default; switched on it draws each community's figures, in the panel too
    assert not any("/maps/data/participation.geojson" in u for u in watch.requests)
    page.locator(".leaflet-control-layers").hover()
    page.locator("label", has_text="志愿服务").locator("input").check()
    wait_until(page, "document.querySelectorAll('.gg-vol-community').length > 0", timeout=10_000)
    settle(page)
    assert any("/maps/data/participation.geojson?" in u and "bbox=" in u for u in watch.requests)
    assert page.locator("#gg-participation").is_visible()
    assert "登记成员" in page.locator("#gg-participation-body").inner_text()
    assert page.locator(".gg-vol-item").count() > 0, "open service items are drawn"
    shot(page, "operations-participation.png")
    page.locator(".leaflet-control-layers").hover()
    page.locator("label", has_text="志愿服务").locator("input").uncheck()
    assert page.locator(".gg-vol-community").count() == 0 and not page.locator("#gg-participation").is_visible()
    assert watch.errors == []

    page.locator("select[data-param=metric]").select_option("households")
    settle(page)
    assert "户数" in page.locator(".gg-legend").last.inner_text()
    page.locator("select[data-param=metric]").select_option("overdue_tickets")
    settle(page)
    assert "超期工单" in page.locator(".gg-legend").last.inner_text()

    before = len(page.evaluate(DRAWN_TICKETS))
    page.locator("select[data-param=state]").select_option("overdue")
    settle(page)
    assert any("cells.geojson?" in u and "state=overdue" in u for u in watch.requests), "the choropleth follows"
    drawn = page.evaluate(DRAWN_TICKETS)
    assert 0 < len(drawn) < before, "the state filter applies to the tiles"
    assert all(d["fill"] == RED for d in drawn), "only overdue tickets are left"
    page.fill("input[data-param=opened_from]", "2000-01-01")
    page.locator("input[data-param=opened_from]").dispatch_event("change")
    settle(page)
    assert any("opened_from=2000-01-01" in u for u in watch.requests)
    assert len(page.evaluate(DRAWN_TICKETS)) == len(drawn), "every ticket was opened after 2000"

    target = page.evaluate(CENTRE_TICKET)
    assert target, "a drawn ticket inside the map"
    page.mouse.click(target["x"], target["y"])
    wait_until(page, f"gg.ticketPopupShown === {target['id']}", timeout=5000)
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "状态：" in popup and "时限：" in popup and "超期" in popup and f"#{target['id']}" in popup
    href = page.locator(".leaflet-popup-content a").get_attribute("href")
    assert href == f"/maps/tickets/{target['id']}"

    page.locator(".leaflet-control-layers").hover()
    page.locator("label", has_text="工单热力图").locator("input").check()
    wait_until(page, "document.querySelector('canvas.leaflet-heatmap-layer') !== null", timeout=10_000)
    settle(page)
    assert any("/maps/data/ticket_heat.json?" in u and "state=overdue" in u for u in watch.requests)
    page.locator("label", has_text="住户热力图").locator("input").check()
    settle(page)
    assert any("/maps/data/heat.json?" in u for u in watch.requests)
    page.locator("select[data-param=type]").select_option("repair")
    settle(page)
    assert any("type=repair" in u for u in watch.requests)
    assert watch.errors == [] and watch.outside(server) == []
    shot(page, "operations-filtered.png")

    tiles_before = len([u for u in watch.requests if "/tiles/tickets/" in u])
    page.evaluate("gg.map.setZoom(11, {animate: false})")  # below the ticket tiles' minimum zoom
    settle(page)
    assert page.evaluate("gg.map.getZoom()") == 11, "the tiles do not bound the map's zoom"
    assert "请放大地图以显示工单" in page.locator("#gg-status").inner_text()
    assert len([u for u in watch.requests if "/tiles/tickets/" in u]) == tiles_before, "no tile below zoom 12"

    page.goto(server + href)
    wait_until(page, "gg.ticketLoaded === true", timeout=10_000)
    text = page.locator("main").inner_text()
    assert "工单信息" in text and "办理记录" in text and "状态" in text and "登记" in text
    assert page.locator(".gg-timeline li").count() >= 1
    assert watch.errors == [] and watch.outside(server) == []
    shot(page, "ticket.png")
    page.context.close()


def test_operations_map_without_a_token_asks_to_log_in(browser: Any, server: str) -> None:
    page, watch = open_page(browser, f"{server}/maps/operations")
    assert watch.errors == []
    assert page.locator("#gg-login").is_visible()
    assert not any("/maps/data/cells.geojson" in u for u in watch.requests), "no data request without a token"
    assert not any("/maps/data/tickets.geojson" in u or "/tiles/tickets/" in u for u in watch.requests)
    page.context.close()


def test_exported_page_works_with_the_network_cut_off(browser: Any, session: Session, tmp_path: Path) -> None:
    from api.cli_maps import export_page

    file = tmp_path / "compound.html"
    file.write_text(export_page("compound", compound_code(session), Settings.for_tests(database_url())))
    context = browser.new_context(viewport={"width": 1280, "height": 800}, offline=True)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(file.as_uri())
    page.wait_for_timeout(800)
    assert watch.errors == []
    assert [u for u in watch.requests if not u.startswith("data:")] == [file.as_uri()], "nothing but the file"
    assert shown_resources(page) > 0
    assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
    shot(page, "compound-export.png")
    context.close()


@pytest.mark.skipif(os.environ.get("GRIDGOV_README_SHOTS") != "1", reason="set GRIDGOV_README_SHOTS=1 to refresh")
def test_readme_screenshots(browser: Any, server: str, session: Session, tile_token: str) -> None:
    from PIL import Image

    token = tile_token
    docs = ROOT / "docs" / "img"
    docs.mkdir(parents=True, exist_ok=True)
    central = session.scalar(  # a compound in the middle of the demo 街道 shows a full 15-minute circle
        select(Compound.code)
        .order_by(
            func.ST_Distance(
                func.ST_PointOnSurface(Compound.geom),
                select(func.ST_SetSRID(func.ST_Centroid(func.ST_Extent(Compound.geom)), 4326)).scalar_subquery(),
            )
        )
        .limit(1)
    )
    pages = {
        "resource-map.png": (f"{server}/maps/compounds/{central}", None),
        "operations-map.png": (f"{server}/maps/operations", token),
    }
    for name, (url, token) in pages.items():
        page, watch = open_page(browser, url, token=token)
        page.wait_for_timeout(700)
        assert watch.errors == []
        raw = tmp = OUT / f"raw-{name}"
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(raw))
        Image.open(tmp).convert("RGB").quantize(colors=192, dither=Image.Dither.NONE).save(docs / name, optimize=True)
        assert (docs / name).stat().st_size < 400_000
        page.context.close()
