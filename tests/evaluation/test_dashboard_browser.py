"""The evaluation dashboard in Debian's Chromium: no console error, no failed or outside request, the KPI cards,
charts, choropleth and 红黑榜 appear over the demo, and a card's number opens exactly that many tickets."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import current_user
from gis.models import AdminArea, User
from gis.settings import ROOT, Settings
from gis.tickets.models import Ticket
from gis.tickets.sla import SHANGHAI
from tests.browser import CHROMIUM, launch_chromium, serve, wait_until
from tests.conftest import test_database_url as database_url

OUT = ROOT / "test-output" / "maps"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")


def _admin() -> User:
    return User(id=0, username="browser-test", full_name="浏览器测试", role="admin", jurisdiction=[])


@pytest.fixture(scope="module")
def server(engine: Engine) -> Iterator[str]:
    app = create_app(Settings.for_tests(database_url()))
    app.dependency_overrides[current_user] = _admin
    with serve(app) as url:
        yield url


def test_dashboard(server: str, session: Session) -> None:
    from playwright.sync_api import sync_playwright

    street = session.scalar(select(AdminArea.code).where(AdminArea.level == "subdistrict").order_by(AdminArea.code))
    newest = session.scalar(select(func.max(Ticket.opened_at)).where(Ticket.cell_code.startswith(street or "-")))
    assert street and newest, "the demo 街道 has tickets"
    month = newest.astimezone(SHANGHAI).strftime("%Y-%m")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 1400}, locale="zh-CN")
        context.add_init_script("localStorage.setItem('gridgov.token', 'browser-test-token');")
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{server}/maps/dashboard?unit=street&code={street}&month={month}")
        wait_until(page, "document.querySelectorAll('#db-cards .db-card').length === 15", timeout=15_000)
        wait_until(page, "document.querySelectorAll('#db-trend svg path').length > 0", timeout=15_000)
        wait_until(page, "document.querySelectorAll('#db-map .leaflet-overlay-pane path').length > 5", timeout=15_000)
        wait_until(page, "document.querySelectorAll('#db-ranking tbody tr').length > 0", timeout=15_000)
        page.wait_for_load_state("networkidle")
        received = page.locator(".db-card[data-kpi=received] b").inner_text()
        assert int(received) > 0
        assert "并列" in page.locator("#db-rule").inner_text()
        page.locator(".db-card[data-kpi=received]").click()
        wait_until(page, "/共 \\d+ 件/.test(document.getElementById('db-tickets-title').textContent)", timeout=15_000)
        m = re.search(r"共 (\d+) 件", page.locator("#db-tickets-title").inner_text())
        assert m and m.group(1) == received, "the card's number opens exactly that many tickets"
        assert page.locator("#db-tickets tbody tr").count() == min(int(received), 200)
        href = page.locator("#db-tickets tbody a").first.get_attribute("href") or ""
        assert href.startswith("/maps/tickets/")
        page.locator("#db-map .leaflet-overlay-pane path").first.click(force=True)
        wait_until(page, "/共 \\d+ 件/.test(document.getElementById('db-tickets-title').textContent)", timeout=15_000)
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "dashboard.png"), full_page=True)
        context.close()
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith((server, "data:", "blob:"))] == []
    assert any("/assets/echarts@" in u for u in requests)
