"""The 积分 ledger: rules per community, append-only by trigger, a hash chain that finds a tampered row, balances,
the exchange day with stock, redemptions that cannot overdraw, a resident reading their own history."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gis.errors import Conflict
from gis.models import User
from gis.participation import ledger
from gis.participation.config import load_config, parse_config
from tests.participation.conftest import COMMUNITY, Area, Maker

P = "/v1/participation"


def _earn(client: TestClient, h: dict[str, str], user_id: int, rule: str, qty: float) -> dict:  # type: ignore[type-arg]
    body = {"community_code": COMMUNITY, "user_id": user_id, "rule": rule, "quantity": qty}
    r = client.post(f"{P}/points/entries", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_points_follow_the_rules_and_a_resident_sees_their_own(
    client: TestClient, area: Area, make_user: Maker
) -> None:
    (u1, h1, _), (u2, h2, _), *_ = area.members
    rules = client.get(f"{P}/points/rules", params={"community": COMMUNITY}).json()
    assert rules["exchange_day"] == 6 and "recyclables_kg" in [r["code"] for r in rules["rules"]]
    e = _earn(client, area.manager_h, u1.id, "recyclables_kg", 3.5)
    assert e["points"] == 7 and e["seq"] >= 1 and len(e["hash"]) == 64
    _earn(client, area.manager_h, u1.id, "kitchen_waste_kg", 2)
    bad = client.post(
        f"{P}/points/entries",
        json={"community_code": COMMUNITY, "user_id": u1.id, "rule": "planting_trees", "quantity": 1},
        headers=area.manager_h,
    )
    assert bad.status_code == 422 and "no points rule 'planting_trees'" in bad.json()["message"]
    worker, worker_h = make_user("grid_worker", jurisdiction=["990000000001001"])
    assert _earn(client, worker_h, u2.id, "hazardous_item", 1)["points"] == 5  # weighed at the sorting point
    other = client.post(
        f"{P}/points/entries",
        json={"community_code": COMMUNITY, "user_id": u1.id, "rule": "recyclables_kg", "quantity": 1},
        headers=area.other_manager_h,
    )
    assert other.status_code == 403
    mine = client.get(f"{P}/points", headers=h1).json()
    assert mine["balances"] == {COMMUNITY: 9} and [x["points"] for x in mine["entries"]] == [2, 7]
    assert client.get(f"{P}/points", params={"user_id": u1.id, "community": COMMUNITY}, headers=h2).status_code == 403
    staff = client.get(f"{P}/points", params={"user_id": u1.id, "community": COMMUNITY}, headers=area.manager_h)
    assert staff.json()["balances"] == {COMMUNITY: 9}
    top = client.get(f"{P}/points/balances", params={"community": COMMUNITY}, headers=area.manager_h).json()
    assert top[0] == {"user_id": u1.id, "name": "测试" + u1.full_name[2:], "balance": 9}
    assert client.get(f"{P}/points/balances", params={"community": COMMUNITY}, headers=h1).status_code == 403


def test_the_ledger_is_append_only_and_its_chain_finds_a_tampered_row(
    client: TestClient, session: Session, area: Area
) -> None:
    (u1, _, _), (u2, _, _), *_ = area.members
    ids = [_earn(client, area.manager_h, u.id, "recyclables_kg", q)["id"] for u, q in ((u1, 1), (u2, 2), (u1, 3))]
    check = client.get(f"{P}/points/verify", params={"community": COMMUNITY}, headers=area.manager_h).json()
    assert check["ok"] and check["checked"] == 3 and check["first_broken"] is None
    for stmt in ("UPDATE points_entries SET points = 100 WHERE id = :i", "DELETE FROM points_entries WHERE id = :i"):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(stmt), {"i": ids[1]})
    # someone with the owner's rights switches the trigger off and raises an entry: the chain shows where
    with session.begin_nested():
        session.execute(text("ALTER TABLE points_entries DISABLE TRIGGER points_entries_append_only"))
        session.execute(text("UPDATE points_entries SET points = 400 WHERE id = :i"), {"i": ids[1]})
        session.execute(text("ALTER TABLE points_entries ENABLE TRIGGER points_entries_append_only"))
    check = client.get(f"{P}/points/verify", params={"community": COMMUNITY}, headers=area.manager_h).json()
    assert not check["ok"] and check["checked"] == 1
    assert check["first_broken"]["id"] == ids[1] and "altered" in check["first_broken"]["reason"]
    # re-hashing the altered row does not help: the next entry's link breaks
    with session.begin_nested():
        session.execute(text("ALTER TABLE points_entries DISABLE TRIGGER points_entries_append_only"))
        e = session.get(ledger.PointsEntry, ids[1])
        assert e is not None
        session.refresh(e)
        session.execute(
            text("UPDATE points_entries SET hash = :h WHERE id = :i"), {"h": ledger.entry_hash(e), "i": e.id}
        )
        session.execute(text("ALTER TABLE points_entries ENABLE TRIGGER points_entries_append_only"))
    broken = ledger.verify(session, community=COMMUNITY)["first_broken"]
    assert broken["id"] == ids[2] and "prev_hash" in broken["reason"]
    assert client.get(f"{P}/points/verify", headers=area.manager_h).status_code == 403  # a manager names the community


def test_exchange_day_stock_and_no_overdraft(
    client: TestClient, session: Session, area: Area, monkeypatch: pytest.MonkeyPatch
) -> None:
    (u1, _, _), *_ = area.members
    manager = session.scalar(
        text("SELECT id FROM users WHERE role = 'manager' AND :c = ANY(jurisdiction)"), {"c": COMMUNITY}
    )
    staff = session.get(User, manager)
    assert staff is not None
    goods = client.post(
        f"{P}/goods",
        json={"community_code": COMMUNITY, "name": "垃圾袋", "points_cost": 5, "stock": 1},
        headers=area.manager_h,
    ).json()["goods"][0]
    assert client.get(f"{P}/goods", params={"community": COMMUNITY}).json()["goods"][0]["stock"] == 1
    _earn(client, area.manager_h, u1.id, "recyclables_kg", 6)  # 12 points
    with pytest.raises(Conflict, match="exchange day"):
        ledger.redeem(
            session, staff, community=COMMUNITY, resident_id=u1.id, goods_id=goods["id"], today=date(2026, 12, 5)
        )
    ledger.redeem(session, staff, community=COMMUNITY, resident_id=u1.id, goods_id=goods["id"], today=date(2026, 12, 6))
    with pytest.raises(Conflict, match="only 0 of 垃圾袋 left"):
        ledger.redeem(
            session, staff, community=COMMUNITY, resident_id=u1.id, goods_id=goods["id"], today=date(2026, 12, 6)
        )
    # through the API, on a community whose exchange is open every day (exchange_day: null)
    raw = {
        "points": {
            "exchange_day": 6,
            "rules": {"recyclables_kg": {"label": "可回收物", "unit": "kg", "points_per_unit": 2}},
        },
        "communities": {COMMUNITY: {"points": {"exchange_day": None}}},
    }
    monkeypatch.setattr("gis.participation.ledger.load_config", lambda: parse_config(raw))
    client.post(
        f"{P}/goods",
        json={"community_code": COMMUNITY, "name": "洗衣液", "points_cost": 20, "stock": 9},
        headers=area.manager_h,
    )
    soap = next(
        g for g in client.get(f"{P}/goods", params={"community": COMMUNITY}).json()["goods"] if g["name"] == "洗衣液"
    )
    r = client.post(
        f"{P}/redemptions",
        json={"community_code": COMMUNITY, "user_id": u1.id, "goods_id": soap["id"]},
        headers=area.manager_h,
    )
    assert r.status_code == 409 and "beyond the balance" in r.json()["message"]
    assert r.json()["detail"] == {"balance": 7, "cost": 20}
    monkeypatch.undo()
    assert load_config().points_for(COMMUNITY).exchange_day == 6
