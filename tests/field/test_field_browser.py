"""The field app on a phone-sized Chromium (390 px): a demo grid worker logs in, starts a patrol with a faked
GPS, loses the network, checks in, answers the 五必查 checklist with a photo and reports an issue, reopens the
app offline (the service worker serves it), gets the network back, and everything arrives once."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from data.demo import DEMO_PASSWORD
from gis.models import CellStaff, User
from gis.patrol.models import Patrol, PatrolAnswer, PatrolAssignment, PatrolVisit
from gis.settings import ROOT
from gis.tickets import actions, intake
from gis.tickets.intake import TicketDraft
from gis.tickets.models import Attachment, Ticket, TicketEvent
from tests.browser import CHROMIUM, launch_chromium, wait_until
from tests.field.conftest import LiveServer, phone

OUT = ROOT / "test-output" / "field"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "#3a7").save(out, format="JPEG")
    return out.getvalue()


def _worker_and_place(session: Session) -> tuple[User, str, float, float]:
    """A demo grid worker with an assigned compound, and a point inside that compound."""
    row = session.execute(
        select(User, PatrolAssignment.compound_code)
        .join(PatrolAssignment, PatrolAssignment.user_id == User.id)
        .where(User.role == "grid_worker")
        .order_by(User.id, PatrolAssignment.compound_code)
        .limit(1)
    ).one()
    lon, lat = session.execute(
        text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM compounds WHERE code = :c) q"),
        {"c": row[1]},
    ).one()
    return row[0], row[1], float(lon), float(lat)


def _pending(page: Any) -> int:
    return int(page.locator("#ff-pending").inner_text())


def test_a_day_offline_then_synced(live_server: LiveServer, session: Session) -> None:
    from playwright.sync_api import sync_playwright

    with live_server.lock:
        worker, compound, lon, lat = _worker_and_place(session)
    started = datetime.now(UTC)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context, page, errors = phone(browser, live_server, lat=lat, lon=lon, accuracy=8)
        page.goto(f"{live_server.url}/field")

        # log in as the demo worker: my day shows the assigned compound
        page.fill("input[name=username]", worker.username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("#ff-login-form button[type=submit]")
        page.wait_for_selector("#gg-who:not([hidden])")
        wait_until(page, "document.querySelectorAll('#ff-compound option').length > 1")
        assert page.locator("#ff-compounds li").count() >= 1
        assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"

        # start a patrol online: the start reaches the server, the GPS gives a fix
        page.click("#ff-start")
        wait_until(page, "document.getElementById('ff-fix').textContent.indexOf(',') > 0")
        wait_until(page, "document.getElementById('ff-pending').textContent === '0'")

        # offline: check in, the checklist with a photo, an issue report
        context.set_offline(True)
        wait_until(page, "!navigator.onLine")
        page.select_option("#ff-compound", compound)
        page.click("#ff-checkin")
        page.wait_for_selector("#ff-checklist:not([hidden]) .ff-item")
        items = page.locator("#ff-items .ff-item")
        assert items.count() >= 5, "五必查: at least the five items"
        items.nth(0).locator("input[name=note]").fill("楼道已清理")
        items.nth(0).locator("input[name=photo]").set_input_files(
            {"name": "gate.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
        )
        page.click("#ff-checklist-form button[type=submit]")
        page.wait_for_selector("#ff-checklist", state="hidden")
        page.fill("#ff-report-form textarea[name=description]", "3号楼门口路灯不亮")
        page.click("#ff-report-form button[type=submit]")
        wait_until(page, "document.getElementById('ff-msg').textContent.indexOf('问题已保存') >= 0")
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "field-offline.png"), full_page=True)
        pending = _pending(page)
        assert pending >= 4, "check-in, photo, answers and the report wait in the queue"

        # the app opens again with no network (service worker), the queue still there
        page.reload()
        page.wait_for_selector("#gg-who:not([hidden])")
        wait_until(page, f"document.getElementById('ff-pending').textContent === '{pending}'")
        assert page.locator("#ff-net").inner_text() == "离线"
        with live_server.lock:
            offline_visits = select(func.count()).where(PatrolVisit.user_id == worker.id, PatrolVisit.t >= started)
            assert session.scalar(offline_visits) == 0, "nothing reached the server while offline"

        # back online: everything is sent, once, and the count returns to 0
        context.set_offline(False)
        wait_until(page, "document.getElementById('ff-pending').textContent === '0'", timeout=20_000)
        page.click("#ff-sync")  # a second sync sends nothing twice
        page.wait_for_timeout(500)
        assert page.locator("#ff-failed-box").is_hidden(), page.locator("#ff-failed").inner_text()
        browser.close()

    assert [e for e in errors if "favicon" not in e] == []
    with live_server.lock:
        patrols = session.scalars(select(Patrol).where(Patrol.user_id == worker.id, Patrol.started_at >= started)).all()
        assert len(patrols) == 1
        visits = session.scalars(select(PatrolVisit).where(PatrolVisit.patrol_id == patrols[0].id)).all()
        assert len(visits) == 1 and visits[0].compound_code == compound
        answers = session.scalars(select(PatrolAnswer).where(PatrolAnswer.visit_id == visits[0].id)).all()
        assert len(answers) >= 5 and all(a.status == "ok" for a in answers)
        assert [len(a.photo_ids) for a in answers].count(1) == 1, "the photo is on the first item"
        mine = or_(Ticket.reporter_id == worker.id, Ticket.created_by_id == worker.id)
        tickets = session.scalars(select(Ticket).where(mine, Ticket.opened_at >= started)).all()
        assert len(tickets) == 1
        assert tickets[0].channel == "patrol" and tickets[0].description == "3号楼门口路灯不亮"
        assert isinstance(tickets[0].opened_at, datetime)


def _community_ticket(session: Session) -> tuple[User, int]:
    """A demo grid worker and a community-handled ticket in one of their cells, dispatched to the community."""
    worker, cell = session.execute(
        select(User, CellStaff.cell_code)
        .join(CellStaff, CellStaff.user_id == User.id)
        .where(User.role == "grid_worker", User.is_active, CellStaff.duty == "worker")
        .order_by(User.id)
        .limit(1)
    ).one()
    lon, lat = session.execute(
        text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_cells "
             "WHERE code = :c AND valid_to IS NULL) q"), {"c": cell},
    ).one()  # fmt: skip
    admin = session.scalars(select(User).where(User.role == "admin").order_by(User.id)).first()
    assert admin is not None
    draft = TicketDraft(
        category="other", description="5号楼楼道堆放杂物", lon=float(lon), lat=float(lat), channel="staff"
    )
    ticket = intake.create_ticket(session, draft, user=admin).ticket
    if ticket.state == "reported":
        actions.apply(session, ticket.id, "accept", user=admin)
    actions.apply(session, ticket.id, "dispatch", user=admin)
    session.flush()
    assert ticket.state == "dispatched" and ticket.unit_type == "community" and ticket.unit_id is None
    return worker, ticket.id


def test_claim_and_resolve_a_community_ticket_with_a_photo(live_server: LiveServer, session: Session) -> None:
    """My day lists the community ticket in my cell with 接单; claiming it turns the button into 办结; the
    resolve form sends the note and a site photo (offline first, then synced), and the ticket is resolved."""
    from playwright.sync_api import sync_playwright

    with live_server.lock:
        worker, ticket_id = _community_ticket(session)
    errors: list[str] = []
    row = f"#ff-tickets li:has-text('工单 {ticket_id} ')"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.goto(f"{live_server.url}/field")
        page.fill("input[name=username]", worker.username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("#ff-login-form button[type=submit]")
        page.wait_for_selector(row)
        assert page.locator(row).inner_text().count("dispatched") == 1

        page.locator(row).get_by_role("button", name="接单").click()
        page.wait_for_selector(f"{row} >> text=claimed")  # synced, my day reloaded
        with live_server.lock:
            assert session.get(Ticket, ticket_id).state == "claimed"  # type: ignore[union-attr]

        # resolve with a photo while offline: queued, then sent when the network returns
        page.locator(row).get_by_role("button", name="办结").click()
        page.wait_for_selector("#ff-resolve:not([hidden])")
        assert page.locator("#ff-resolve-id").inner_text() == str(ticket_id)
        context.set_offline(True)
        wait_until(page, "!navigator.onLine")
        page.fill("#ff-resolve-form textarea[name=note]", "杂物已清走，楼道畅通")
        page.locator("#ff-resolve-form input[name=photo]").set_input_files(
            {"name": "done.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
        )
        page.click("#ff-resolve-form button[type=submit]")
        page.wait_for_selector("#ff-resolve", state="hidden")
        wait_until(page, "document.getElementById('ff-msg').textContent.indexOf('联网后自动提交') >= 0")
        assert _pending(page) == 2, "the photo and the resolve wait in the queue"
        with live_server.lock:
            assert session.get(Ticket, ticket_id).state == "claimed"  # type: ignore[union-attr]
        context.set_offline(False)
        wait_until(page, "document.getElementById('ff-pending').textContent === '0'", timeout=20_000)
        page.wait_for_selector(row, state="detached")  # resolved: no longer an open ticket of my day
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "field-resolved.png"), full_page=True)
        browser.close()

    assert [e for e in errors if "favicon" not in e] == []
    with live_server.lock:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.state == "resolved"
        done = session.execute(
            select(TicketEvent.action, TicketEvent.actor_id, TicketEvent.note)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action.in_(["claim", "resolve"]))
            .order_by(TicketEvent.id)
        ).all()
        assert [(a, u) for a, u, _ in done] == [("claim", worker.id), ("resolve", worker.id)]
        assert done[1][2] == "杂物已清走，楼道畅通"
        photos = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id)).all()
        assert len(photos) == 1 and photos[0].content_type == "image/jpeg"
