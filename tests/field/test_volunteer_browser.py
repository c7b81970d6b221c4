"""志愿服务 on the field app, on a phone-sized Chromium (390 px): the demo volunteer resident1 logs in, sees a
service item near the (faked) position, claims it, and signs in on site; the claim and the sign-in reach the
database with the distance PostGIS computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.demo import DEMO_PASSWORD
from gis.models import Compound, User
from gis.participation import items
from gis.participation.models import Claim, Member
from tests.browser import CHROMIUM, launch_chromium, wait_until
from tests.field.conftest import LiveServer, phone

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")
COMMUNITY = "370102010001"


def _item_and_place(session: Session) -> tuple[int, float, float]:
    """A fresh item at a compound of the volunteer's community, starting in 10 minutes (sign-in is open)."""
    manager = session.scalar(select(User).where(User.username == "mgr001"))
    code = session.scalar(
        select(Compound.code).where(Compound.code.startswith(COMMUNITY)).order_by(Compound.code.desc())
    )
    assert manager is not None and code is not None
    start = datetime.now(UTC) + timedelta(minutes=10)
    item = items.publish(
        session,
        manager,
        community_code=COMMUNITY,
        kind="environment",
        title="楼道环境整治（测试）",
        place=items.Place("compound", code=code),
        starts_at=start,
        ends_at=start + timedelta(minutes=50),
        capacity=1,
    )
    session.commit()
    lon, lat = session.execute(
        text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM compounds WHERE code = :c) q"),
        {"c": code},
    ).one()
    return item.id, float(lon), float(lat)


def test_a_volunteer_claims_an_item_near_them_and_signs_in(live_server: LiveServer, session: Session) -> None:
    from playwright.sync_api import sync_playwright

    with live_server.lock:
        item_id, lon, lat = _item_and_place(session)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        context, page, errors = phone(browser, live_server, lat=lat, lon=lon, accuracy=10)
        page.goto(f"{live_server.url}/field")
        page.fill("input[name=username]", "resident1")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("#ff-login-form button[type=submit]")
        page.wait_for_selector("#gg-who:not([hidden])")
        assert page.locator("#ff-patrol").is_hidden(), "a volunteer does not patrol"
        wait_until(page, "document.getElementById('fv-points').textContent.indexOf('我的积分') >= 0")
        row = page.locator(f"#fv-items li[data-item='{item_id}']")
        row.wait_for()
        assert "楼道环境整治（测试）" in row.inner_text() and "米" in row.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling on a phone"
        row.locator("button").click()
        wait_until(page, "document.getElementById('ff-msg').textContent.indexOf('认领成功') >= 0")
        mine = page.locator("#fv-claims li", has_text="楼道环境整治（测试）")
        mine.wait_for()
        mine.locator("button", has_text="到场签到").click()
        wait_until(page, "document.getElementById('ff-msg').textContent.indexOf('签到成功') >= 0")
        page.locator("#fv-claims li", has_text="已签到").wait_for()
        page.wait_for_timeout(300)
        browser.close()
    assert [e for e in errors if "favicon" not in e] == []
    with live_server.lock:
        member = session.scalar(
            select(Member.id).join(User, User.id == Member.user_id).where(User.username == "resident1")
        )
        claim = session.scalar(select(Claim).where(Claim.item_id == item_id))
        assert claim is not None and claim.member_id == member
        assert claim.signed_in_at is not None and claim.signed_in_m == 0.0  # standing inside the compound
