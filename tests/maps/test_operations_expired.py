"""The operations map when its token stops working (issue 16): revoked while the page is open (logout through the
API, as another tab or an admin would), the next pan's ticket tiles and data requests get 401 and the page asks for a
log-in in Chinese instead of drawing empty tiles; logging in again reloads the layers with the new token. Against a
real uvicorn whose requests share the test's transaction (tests/field/conftest.py), with real token checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gis.models import User
from tests.browser import CHROMIUM, launch_chromium, wait_until
from tests.field.conftest import LiveServer, serve

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")


@pytest.fixture()
def live_server(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    with serve(sessions, tmp_path) as server:
        yield server


def test_revoked_token_asks_for_a_log_in_and_logging_in_reloads_the_layers(
    live_server: LiveServer, make_user: Callable[..., tuple[User, dict[str, str]]]
) -> None:
    from playwright.sync_api import sync_playwright

    with live_server.lock:
        user, headers = make_user("admin")
    token = headers["Authorization"].removeprefix("Bearer ")
    uncaught: list[str] = []
    console: list[str] = []
    tiles: list[tuple[str, str | None]] = []
    refused: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        context.add_init_script(f"localStorage.setItem('gridgov.token', {token!r});")
        page = context.new_page()
        page.on("pageerror", lambda e: uncaught.append(str(e)))
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on(
            "request",
            lambda r: tiles.append((r.url, r.headers.get("authorization"))) if "/tiles/tickets/" in r.url else None,
        )
        page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
        page.goto(f"{live_server.url}/maps/operations")
        wait_until(page, "window.gg && gg.ready && gg.pending === 0 && !gg.tilesLoading", timeout=20_000)
        wait_until(page, "Object.keys(gg.loads).length >= 3", timeout=20_000)
        assert tiles and not page.locator("#gg-login").is_visible()
        assert console == [] and uncaught == []

        # revoked elsewhere: the page still holds the token. The bbox layers are switched off first, so only the
        # ticket tiles ask (tiles already fetched may come from the browser's cache: the pan needs new ones)
        page.evaluate(
            "Object.values(gg.specs).forEach(e => { if (e.spec.kind !== 'ticketTiles') gg.map.removeLayer(e.layer); })"
        )
        page.evaluate(
            "t => fetch('/v1/auth/logout', {method: 'POST', headers: {Authorization: 'Bearer ' + t}})"
            ".then(r => r.status)",
            token,
        )
        before = len(tiles)
        page.evaluate("gg.map.panBy([700, 300], {animate: false})")
        wait_until(page, "!!document.getElementById('gg-login') && !document.getElementById('gg-login').hidden")
        assert refused and all("/tiles/tickets/" in u for u in refused), "a refused tile asked for the log-in"
        assert "登录已过期" in page.locator("#gg-login-msg").inner_text()
        assert page.evaluate("localStorage.getItem('gridgov.token')") is None, "the refused token is forgotten"
        assert len(tiles) > before, "the pan asked for tiles"
        assert uncaught == [], "no uncaught error"
        assert all("401" in m for m in console), console  # only the browser's note of the refused requests

        # logging in again: the layers come back with the new token
        seen = len(tiles)
        page.fill("#gg-login input[name=username]", user.username)
        page.fill("#gg-login input[name=password]", "test-password")
        page.click("#gg-login button[type=submit]")
        wait_until(page, "document.getElementById('gg-login').hidden && !!localStorage.getItem('gridgov.token')")
        new = page.evaluate("localStorage.getItem('gridgov.token')")
        wait_until(page, "gg.pending === 0 && !gg.tilesLoading", timeout=20_000)
        again = tiles[seen:]
        assert again and all(auth == f"Bearer {new}" for _, auth in again), "tiles asked again with the new token"
        assert new != token and uncaught == []
        browser.close()
