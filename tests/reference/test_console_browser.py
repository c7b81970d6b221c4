"""The admin console in a real browser (Debian Chromium): an admin logs in on /admin, creates an organization,
an account and a service resource placed by clicking the map, and a form shows the API's error message next to
the field it names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gis.models import Organization, ServiceResource, User
from gis.notify.models import OutboxMessage
from tests.browser import CHROMIUM, launch_chromium, wait_until
from tests.field.conftest import LiveServer, serve
from tests.reference.conftest import MINE, World

OUT = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture()
def live_server(sessions: sessionmaker[Session], tmp_path: Any) -> Iterator[LiveServer]:
    with serve(sessions, tmp_path) as server:
        yield server


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")
def test_admin_onboards_an_organization_a_user_and_a_resource(
    live_server: LiveServer, session: Session, make_user: Callable[..., tuple[User, dict[str, str]]], world: World
) -> None:
    from playwright.sync_api import sync_playwright

    with live_server.lock:
        admin, _ = make_user("admin")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN").new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "422" not in m.text else None)

        page.goto(f"{live_server.url}/admin/organizations")
        page.fill("#gg-login [name=username]", admin.username)
        page.fill("#gg-login [name=password]", "test-password")
        page.click("#gg-login button[type=submit]")
        page.wait_for_selector("#org-list tbody tr td")

        form = "#org-create"
        page.fill(f"{form} [name=code]", "DEPT-console")
        page.fill(f"{form} [name=name]", "控制台城管中队")
        page.select_option(f"{form} [name=kind]", "department")
        page.select_option(f"{form} [name=unit_type]", "urban_management")
        page.fill(f"{form} [name=phone]", "12-34")  # not a phone number: the API's message, next to the field
        page.click(f"{form} button[type=submit]")
        wait_until(page, "() => document.querySelector('#org-create [name=phone][aria-invalid]') !== null")
        note = page.text_content(f"{form} [name=phone] ~ .ad-field-error") or ""
        assert "手机号" in note and "landline" in note
        page.fill(f"{form} [name=phone]", "0531-86001234")
        page.click(f"{form} button[type=submit]")
        wait_until(page, "() => document.querySelector('#org-list').textContent.includes('DEPT-console')")

        page.goto(f"{live_server.url}/admin/users")
        form = "#user-create"
        page.wait_for_selector("#user-list tbody tr td")
        page.fill(f"{form} [name=username]", "console.worker")
        page.fill(f"{form} [name=full_name]", "控制台网格员")
        page.fill(f"{form} [name=password]", "long-enough-1")
        page.select_option(f"{form} [name=role]", "grid_worker")
        page.fill(f"{form} [name=phone]", "13812345678")
        page.fill(f"{form} [name=jurisdiction]", world.cell)
        page.click(f"{form} button[type=submit]")
        wait_until(page, "() => document.querySelector('#user-list').textContent.includes('console.worker')")

        page.goto(f"{live_server.url}/admin/resources")
        page.wait_for_selector("#ad-map .leaflet-overlay-pane path")  # the communities are drawn
        form = "#resource-create"
        page.select_option(f"{form} [name=type]", "repair")
        page.fill(f"{form} [name=name]", "控制台便民维修点")
        box = page.locator("#ad-map").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        wait_until(page, "() => document.querySelector('#resource-create [name=lon]').value !== ''")
        page.fill(f"{form} [name=opening_hours]", "Mo-Fr 9点到5点")
        page.click(f"{form} button[type=submit]")
        wait_until(page, "() => document.querySelector('#resource-create [name=opening_hours][aria-invalid]') !== null")
        assert "OpenStreetMap" in (page.text_content(f"{form} .ad-form-msg") or "")
        page.fill(f"{form} [name=opening_hours]", "Mo-Su 08:00-20:00; PH off")
        page.dispatch_event(f"{form} [name=opening_hours]", "change")
        wait_until(
            page,
            "() => document.querySelector('#resource-create .ad-hours-preview').textContent.includes('周一至周日')",
        )
        page.fill(f"{form} [name=features]", "修鞋、配钥匙")
        page.click(f"{form} button[type=submit]")
        wait_until(page, "() => document.querySelector('#resource-list').textContent.includes('控制台便民维修点')")
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "admin-resources.png"), full_page=True)
        browser.close()
    assert errors == []
    with live_server.lock:
        session.expire_all()
        org = session.scalar(select(Organization).where(Organization.code == "DEPT-console"))
        user = session.scalar(select(User).where(User.username == "console.worker"))
        res = session.scalar(select(ServiceResource).where(ServiceResource.name == "控制台便民维修点"))
    assert org is not None and org.phone == "0531-86001234" and org.unit_type == "urban_management"
    assert user is not None and user.jurisdiction == [world.cell] and user.role == "grid_worker"
    assert res is not None and res.osm_hours == "Mo-Su 08:00-20:00; PH off" and res.features == ["修鞋", "配钥匙"]
    assert res.cell_code is not None and res.cell_code.startswith("370102010")
    assert MINE.startswith("370102010")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")
def test_manager_edits_a_compound_board_with_a_portrait(
    live_server: LiveServer, session: Session, make_user: Callable[..., tuple[User, dict[str, str]]], world: World
) -> None:
    """A manager (token from a link) opens a compound of their community, sets the 民警 with a photo, sees the
    history; a compound of another community answers the API's refusal."""
    import io

    from PIL import Image
    from playwright.sync_api import sync_playwright

    buf = io.BytesIO()
    Image.new("RGB", (60, 80), (20, 90, 160)).save(buf, "PNG")
    token = world.manager["Authorization"].removeprefix("Bearer ")
    # an unread in-app message (gis.notify): the console's header shows the inbox count, as the other pages do
    session.add(
        OutboxMessage(
            key="console-test-inbox", event="dispatched", channel="inbox", user_id=world.manager_user.id,
            title="工单已派发", body="测试", status="delivered",
        )
    )  # fmt: skip
    session.commit()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN").new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.goto(f"{live_server.url}/admin/compounds#token={token}")
        wait_until(page, "() => document.querySelector('a[href=\"/admin/audit\"]').hidden === true")  # not an admin
        wait_until(page, "() => document.querySelector('#gg-unread').textContent === '通知 1'")
        page.fill("#compound-pick [name=code]", world.other_compound)
        page.click("#compound-pick button[type=submit]")
        wait_until(page, "() => document.querySelector('#compound-pick .ad-form-msg').textContent.includes('辖区')")
        page.fill("#compound-pick [name=code]", world.compound)
        page.click("#compound-pick button[type=submit]")
        wait_until(page, "() => document.querySelector('#compound-details [name=name]').value !== ''")
        page.wait_for_selector("#building-list tbody tr td button")  # the compound's buildings, editable
        page.click("#building-list tbody tr td button")
        page.fill("#building-edit [name=floors]", "7")
        page.click("#building-edit button[type=submit]")
        wait_until(page, "() => document.querySelector('#building-edit .ad-form-msg').textContent === '已保存'")
        page.fill("#contact-police [name=name]", "钱警官")
        page.fill("#contact-police [name=phone]", "0531-86009999")
        page.click("#contact-police button[type=submit]")
        wait_until(page, "() => document.querySelector('#contact-police .ad-form-msg').textContent === '已保存'")
        page.set_input_files(
            "#photo-police [name=file]", files=[{"name": "p.png", "mimeType": "image/png", "buffer": buf.getvalue()}]
        )
        page.click("#photo-police button[type=submit]")
        wait_until(page, "() => !document.querySelector('#contact-police .ad-photo').hidden")
        wait_until(page, "() => document.querySelector('#contacts-history').textContent.includes('钱警官')")
        wait_until(page, "() => document.querySelector('#contact-police .ad-photo').complete")
        loaded = page.evaluate("() => document.querySelector('#contact-police .ad-photo').naturalWidth")
        page.goto(f"{live_server.url}/admin/sheets")  # the sheets of a manager's role only: staff and places
        wait_until(page, "() => document.querySelector('tr[data-sheet=\"users\"]').hidden === true")
        assert page.is_visible('tr[data-sheet="staff"]') and page.is_hidden('tr[data-sheet="organizations"]')
        browser.close()
    assert errors == []
    assert loaded == 60  # the portrait is served (publicly, as on the board)
    with live_server.lock:
        session.expire_all()
        from gis.models import Compound

        board = session.scalar(select(Compound.contacts).where(Compound.code == world.compound))
    police = next(c for c in board or [] if c["duty"] == "police")
    assert police["name"] == "钱警官" and police["photo_url"].startswith("/v1/contact-photos/")
