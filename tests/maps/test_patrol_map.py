"""The managers' patrol map (/maps/patrols) and the Excel export of its rule table, on the demo week of patrols."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from gis.models import User
from gis.settings import ROOT
from tests.browser import CHROMIUM, launch_chromium, wait_until
from tests.field.conftest import LiveServer, serve

OUT = ROOT / "test-output" / "maps"


@pytest.fixture()
def demo_day(session: Session) -> tuple[date, str, str]:
    """The last demo day with tracks, a community whose assigned workers walked then, and another community."""
    day, community = session.execute(
        text(
            """
SELECT (x.t AT TIME ZONE 'Asia/Shanghai')::date, a.code
FROM patrol_fixes AS x JOIN patrols AS p ON p.id = x.patrol_id
JOIN patrol_assignments AS s ON s.user_id = p.user_id JOIN compounds AS k ON k.code = s.compound_code
JOIN admin_areas AS a ON a.id = k.community_id
ORDER BY x.t DESC LIMIT 1
"""
        )
    ).one()
    other = session.scalar(
        text("SELECT code FROM admin_areas WHERE level = 'community' AND code <> :c ORDER BY code LIMIT 1"),
        {"c": community},
    )
    return day, community, other


def _data(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="pm-data">(.*?)</script>', html, re.S)
    assert m, "the page carries its data in a JSON block"
    return dict(json.loads(m.group(1)))


def test_manager_sees_the_days_tracks_and_rule_table(
    client: TestClient, make_user: Callable[..., tuple[User, dict[str, str]]], demo_day: tuple[date, str, str]
) -> None:
    day, community, _ = demo_day
    _, headers = make_user("manager", jurisdiction=[community])
    r = client.get(f"/maps/patrols?date={day}&community={community}", headers=headers)
    assert r.status_code == 200, r.text
    data = _data(r.text)
    tracks = [f for f in data["tracks"]["features"] if f["properties"]["kind"] == "track"]
    assert tracks and all(f["geometry"]["type"] == "LineString" for f in tracks)
    assert {f["properties"]["worker_name"] for f in tracks} <= {w["name"] for w in data["workers"]}
    assert data["cells"]["features"] and all(0 <= f["properties"]["share"] <= 1 for f in data["cells"]["features"])
    assert any(f["properties"]["share"] > 0 for f in data["cells"]["features"]), "the tracks cover some ground"
    assert data["compounds"]["features"] and data["bounds"]
    rule = client.get(f"/v1/patrols/rule?date={day}&community={community}", headers=headers).json()
    rows = re.findall(r'<tr data-worker="(\d+)" class="(pm-met|pm-unmet)">', r.text)
    assert len(rows) == len(rule) > 0, "one table row per worker × compound"
    assert [r["met"] for r in rule] == [c == "pm-met" for _, c in rows]
    assert all(w["name"] in r.text for w in data["workers"])
    scripts = re.findall(r"<script\b([^>]*)>", r.text)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), "no inline script"


def test_manager_of_another_community_gets_nothing_of_it(
    client: TestClient, make_user: Callable[..., tuple[User, dict[str, str]]], demo_day: tuple[date, str, str]
) -> None:
    day, community, other = demo_day
    _, headers = make_user("manager", jurisdiction=[other])
    r = client.get(f"/maps/patrols?date={day}&community={community}", headers=headers)
    assert r.status_code == 403
    assert "pm-data" not in r.text
    assert client.get(f"/maps/patrols?date={day}", headers=headers).status_code == 403, "managers name a community"
    x = client.get(f"/v1/patrols/rule.xlsx?date={day}&community={community}", headers=headers)
    assert x.status_code == 403


def test_a_link_gets_a_shell_without_data(client: TestClient, demo_day: tuple[date, str, str]) -> None:
    day, community, _ = demo_day
    r = client.get(f"/maps/patrols?date={day}&community={community}")
    assert r.status_code == 200
    assert _data(r.text) == {"url": "/maps/patrols"}
    assert "pm-rule" not in r.text


def test_rule_table_exports_to_excel(
    client: TestClient, make_user: Callable[..., tuple[User, dict[str, str]]], demo_day: tuple[date, str, str]
) -> None:
    day, community, _ = demo_day
    _, headers = make_user("admin")
    rule = client.get(f"/v1/patrols/rule?date={day}&community={community}", headers=headers).json()
    r = client.get(f"/v1/patrols/rule.xlsx?date={day}&community={community}", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f"rule-{day}-{community}.xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == (
        "日期",
        "网格员",
        "账号",
        "网格",
        "网格编码",
        "小区",
        "小区编码",
        "在岗分钟",
        "要求分钟",
        "是否达标",
    )
    assert len(table) - 1 == len(rule) > 0
    assert [row[9] for row in table[1:]] == ["达标" if x["met"] else "未达标" for x in rule]
    # a name with its account, cell and compound: two workers of the same name are told apart
    assert [row[1:7] for row in table[1:]] == [
        (x["worker_name"], x["worker_username"], x["cell_name"], x["cell_code"], x["compound_name"], x["compound_code"])
        for x in rule
    ]
    assert all(row[3] and row[4] for row in table[1:]), "every demo compound lies in a cell"


@pytest.fixture()
def live_server(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    with serve(sessions, tmp_path) as server:
        yield server


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")
def test_patrol_map_in_a_browser_from_a_link(
    live_server: LiveServer, session: Session, make_user: Callable[..., tuple[User, dict[str, str]]],
    demo_day: tuple[date, str, str],
) -> None:  # fmt: skip
    """A manager opens the link (no header): the shell asks again with the stored token, the map is drawn."""
    from playwright.sync_api import sync_playwright

    day, community, _ = demo_day
    with live_server.lock:
        _, headers = make_user("manager", jurisdiction=[community])
    token = headers["Authorization"].removeprefix("Bearer ")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(f"localStorage.setItem('gridgov.token', {token!r});")
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server.url}/maps/patrols?date={day}&community={community}")
        page.wait_for_selector("#pm-rule tbody tr")
        page.wait_for_selector(".leaflet-overlay-pane path")
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "patrol-map.png"), full_page=True)
        paths = page.locator(".leaflet-overlay-pane path").count()
        rows = page.locator("#pm-rule tbody tr").count()
        legend = page.locator("#pm-legend .gg-row").count()
        browser.close()
    assert errors == []
    assert paths > 3, "cells, compounds and tracks are drawn"
    assert rows > 0 and legend > 3


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")
def test_patrol_map_draws_the_days_fixes_from_vector_tiles(
    live_server: LiveServer, make_user: Callable[..., tuple[User, dict[str, str]]], demo_day: tuple[date, str, str]
) -> None:
    """The "轨迹点" toggle: the day's GPS fixes come as vector tiles (/tiles/patrol_fixes/…?date=&community=, the
    manager's token) and are drawn as points; no console error."""
    from playwright.sync_api import sync_playwright

    day, community, _ = demo_day
    with live_server.lock:
        _, headers = make_user("manager", jurisdiction=[community])
    token = headers["Authorization"].removeprefix("Bearer ")
    errors: list[str] = []
    tiles: dict[str, str | None] = {}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(f"localStorage.setItem('gridgov.token', {token!r});")
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "request",
            lambda r: (
                tiles.__setitem__(r.url, r.headers.get("authorization")) if "/tiles/patrol_fixes/" in r.url else None
            ),
        )
        page.goto(f"{live_server.url}/maps/patrols?date={day}&community={community}")
        page.wait_for_selector(".leaflet-overlay-pane path")
        assert not tiles, "the fixes layer is off until switched on"
        page.locator(".leaflet-control-layers").hover()
        page.locator("label", has_text="轨迹点").locator("input").check()
        wait_until(page, "gg.fixTiles.loads > 0 && !gg.fixTiles.loading", timeout=20_000)
        drawn = page.evaluate(
            "Object.values(gg.fixTiles.layer._vectorTiles)"
            ".reduce((n, t) => n + Object.keys(t._features || {}).length, 0)"
        )
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "patrol-map-fixes.png"))
        browser.close()
    assert errors == []
    assert tiles and all(f"date={day}" in u and f"community={community}" in u for u in tiles)
    assert all(auth == f"Bearer {token}" for auth in tiles.values()), "every tile carries the token"
    assert drawn > 10, "the day's fixes are drawn as points"
