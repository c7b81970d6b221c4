"""The patrol API as the field app uses it: idempotent replays, 403/422, a problem → one ticket,
must-visit, the nightly log, and every route × role outcome of route_roles.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.models import CellStaff, Compound
from gis.patrol.models import FLAG_OUTSIDE, PatrolFix, PatrolLog
from gis.patrol.tasks import nightly_patrols
from gis.tickets.models import Ticket
from tests.patrol.conftest import COMPOUND, PatrolArea, local, ring_walk
from tests.patrol.route_roles import PATROL_ROUTE_ROLES

IN = (100.004, 30.004)


def _fix(t: datetime, lon: float = IN[0], lat: float = IN[1], **kw: Any) -> dict[str, Any]:
    return {"t": t.isoformat(), "lon": lon, "lat": lat, **kw}


def _start(client: TestClient, h: dict[str, str], key: str = "p1") -> int:
    r = client.post("/v1/patrols", json={"client_key": key}, headers=h)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _fix_count(session: Session, patrol_id: int) -> int:
    return session.scalar(select(func.count()).select_from(PatrolFix).where(PatrolFix.patrol_id == patrol_id)) or 0


def test_replays_create_nothing_twice(client: TestClient, session: Session, parea: PatrolArea) -> None:
    pid = _start(client, parea.worker_h)
    assert _start(client, parea.worker_h) == pid
    t0 = datetime.now(UTC) - timedelta(hours=1)
    # out of order, with a duplicate timestamp
    fixes = [_fix(t0 + timedelta(seconds=10 * k)) for k in (3, 1, 2, 1, 0)]
    body = {"batch_key": "b1", "fixes": fixes}
    first = client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=parea.worker_h).json()
    assert first == {"accepted": 4, "duplicates": 1, "flagged": 0}
    again = client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=parea.worker_h).json()
    assert again["accepted"] == 0
    assert _fix_count(session, pid) == 4
    # an overlapping batch under a new key: only the new fix is stored
    more = {"batch_key": "b2", "fixes": [_fix(t0 + timedelta(seconds=30)), _fix(t0 + timedelta(seconds=40))]}
    assert client.post(f"/v1/patrols/{pid}/fixes", json=more, headers=parea.worker_h).json()["accepted"] == 1
    ck = {"client_key": "c1", "lon": IN[0], "lat": IN[1], "t": t0.isoformat()}
    v1 = client.post(f"/v1/patrols/{pid}/checkins", json=ck, headers=parea.worker_h).json()
    v2 = client.post(f"/v1/patrols/{pid}/checkins", json=ck, headers=parea.worker_h).json()
    assert v1 == v2 and v1["compound_code"] == COMPOUND


def test_bad_fixes_are_flagged_and_future_ones_refused(client: TestClient, session: Session, parea: PatrolArea
                                                       ) -> None:  # fmt: skip
    pid = _start(client, parea.worker_h)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    fixes = [
        _fix(t0),
        _fix(t0 + timedelta(seconds=10), accuracy_m=300),  # inaccurate
        _fix(t0 + timedelta(seconds=20), lon=100.004 + 0.01),  # ~960 m in 20 s: a jump
        _fix(t0 + timedelta(seconds=30), lon=101.0),  # ~100 km away: a jump, and far outside the worker's cells
    ]
    r = client.post(f"/v1/patrols/{pid}/fixes", json={"batch_key": "k", "fixes": fixes}, headers=parea.worker_h)
    assert r.json() == {"accepted": 4, "duplicates": 0, "flagged": 3}
    future = [_fix(t0), _fix(datetime.now(UTC) + timedelta(hours=1))]
    r = client.post(f"/v1/patrols/{pid}/fixes", json={"batch_key": "f", "fixes": future}, headers=parea.worker_h)
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    assert _fix_count(session, pid) == 4  # nothing of the refused batch
    # the API's one policy: a time without a timezone is Beijing time
    naive = {"batch_key": "n", "fixes": [{"t": "2024-05-01T08:00:00", "lon": 100.004, "lat": 30.004}]}
    assert client.post(f"/v1/patrols/{pid}/fixes", json=naive, headers=parea.worker_h).json()["accepted"] == 1
    stored = session.scalar(select(PatrolFix.t).where(PatrolFix.patrol_id == pid).order_by(PatrolFix.t))
    assert stored == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)


def test_far_outside_is_judged_on_the_cells_a_worker_staffs(
    client: TestClient, session: Session, parea: PatrolArea, make_user: Any
) -> None:
    """A worker whose cells come from the staff table only (no jurisdiction on the account): a fix in their cell is
    not flagged, one 100 km away is (FLAG_OUTSIDE); a worker with no cells at all has nothing to be outside of."""
    staffed, staffed_h = make_user("grid_worker")
    session.add(CellStaff(cell_code=parea.left, user_id=staffed.id, duty="worker"))
    session.commit()
    _, loose_h = make_user("grid_worker")
    t0 = datetime.now(UTC) - timedelta(hours=1)
    for h, far_flag in ((staffed_h, FLAG_OUTSIDE), (loose_h, 0)):
        pid = _start(client, h)
        fixes = [_fix(t0), _fix(t0 + timedelta(hours=2 / 60), lon=101.0)]  # 100 km in 2 min: a jump as well
        assert client.post(f"/v1/patrols/{pid}/fixes", json={"batch_key": "o", "fixes": fixes}, headers=h).is_success
        flags = session.scalars(select(PatrolFix.flags).where(PatrolFix.patrol_id == pid).order_by(PatrolFix.t)).all()
        assert flags[0] == 0 and flags[1] & FLAG_OUTSIDE == far_flag


def test_someone_elses_patrol_is_403(client: TestClient, parea: PatrolArea) -> None:
    pid = _start(client, parea.worker_h)
    body = {"batch_key": "x", "fixes": [_fix(datetime.now(UTC) - timedelta(minutes=5))]}
    r = client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=parea.other_h)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert client.post(f"/v1/patrols/{pid}/end", json={}, headers=parea.other_h).status_code == 403


def test_a_fix_batch_is_checked_in_order_token_patrol_key(client: TestClient, session: Session, parea: PatrolArea
                                                          ) -> None:  # fmt: skip
    """The hot path reads the token and the patrol in one query: each refusal still says the right thing, and a
    batch key reused with another body is a 409 that writes nothing."""
    pid = _start(client, parea.worker_h)
    body = {"batch_key": "k1", "fixes": [_fix(datetime.now(UTC) - timedelta(minutes=5))]}
    assert client.post(f"/v1/patrols/{pid}/fixes", json=body).status_code == 401
    bad = client.post(f"/v1/patrols/{pid}/fixes", json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "log in again" in bad.json()["message"]
    missing = client.post("/v1/patrols/999999999/fixes", json=body, headers=parea.worker_h)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.post(f"/v1/patrols/{pid}/fixes", json=body, headers=parea.worker_h).json()["accepted"] == 1
    other = {"batch_key": "k1", "fixes": [_fix(datetime.now(UTC) - timedelta(minutes=4))]}
    clash = client.post(f"/v1/patrols/{pid}/fixes", json=other, headers=parea.worker_h)
    assert clash.status_code == 409 and "k1" in clash.json()["message"]
    assert _fix_count(session, pid) == 1


def test_a_problem_answer_becomes_exactly_one_ticket(client: TestClient, session: Session, parea: PatrolArea
                                                     ) -> None:  # fmt: skip
    pid = _start(client, parea.worker_h)
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    client.post(f"/v1/patrols/{pid}/fixes", json={"batch_key": "b", "fixes": [_fix(t0)]}, headers=parea.worker_h)
    ck = {"client_key": "c", "lon": IN[0], "lat": IN[1], "t": t0.isoformat()}
    visit = client.post(f"/v1/patrols/{pid}/checkins", json=ck, headers=parea.worker_h).json()["visit_id"]
    items = {i["code"] for i in client.get("/v1/patrols/checklist", headers=parea.worker_h).json()}
    assert {"sanitation", "safety", "facilities", "residents", "civility"} <= items
    body = {"client_key": "a1", "answers": [
        {"item": "sanitation", "status": "ok"},
        {"item": "residents", "status": "problem", "note": "3号楼单元门坏了"},
    ]}  # fmt: skip
    before = session.scalar(select(func.count()).select_from(Ticket)) or 0
    r = client.post(f"/v1/patrols/visits/{visit}/answers", json=body, headers=parea.worker_h)
    assert r.status_code == 200, r.text
    tickets = r.json()["tickets"]
    assert [t["item"] for t in tickets] == ["residents"]
    again = client.post(f"/v1/patrols/visits/{visit}/answers", json=body, headers=parea.worker_h).json()
    assert again["tickets"] == tickets
    assert (session.scalar(select(func.count()).select_from(Ticket)) or 0) == before + 1
    ticket = session.get(Ticket, tickets[0]["ticket_id"])
    assert ticket is not None and ticket.channel == "patrol" and ticket.category == "other"
    assert ticket.compound_code == COMPOUND and "单元门" in ticket.description


def test_must_visit_households_due_visited_and_missed(client: TestClient, parea: PatrolArea) -> None:
    h = {"cell_code": parea.left, "building": "3号楼", "unit": "2单元", "kind": "elderly_alone"}
    a = client.post("/v1/must-visit", json=h, headers=parea.worker_h).json()
    b = client.post("/v1/must-visit", json={**h, "unit": "1单元", "kind": "disabled"}, headers=parea.manager_h).json()
    assert a["every_days"] == 7 and b["every_days"] == 14
    outside = {**h, "cell_code": parea.right}
    assert client.post("/v1/must-visit", json=outside, headers=parea.worker_h).status_code == 403
    assert {x["id"] for x in client.get("/v1/must-visit", headers=parea.worker_h).json()} == {a["id"], b["id"]}
    pid = _start(client, parea.worker_h)
    t = datetime.now(UTC) - timedelta(minutes=1)
    ck = {"client_key": "c", "lon": IN[0], "lat": IN[1], "t": t.isoformat(), "households": [a["id"]]}
    assert client.post(f"/v1/patrols/{pid}/checkins", json=ck, headers=parea.worker_h).status_code == 201
    day = client.get("/v1/must-visit/today", headers=parea.worker_h).json()
    assert day["visited"] == [a["id"]] and day["missed"] == [b["id"]]
    mine = client.get("/v1/patrols/me/today", headers=parea.worker_h).json()
    assert mine["compounds"][0]["code"] == COMPOUND and mine["compounds"][0]["visited"] is True
    assert {m["id"] for m in mine["must_visit"] if "building" in m} == {a["id"], b["id"]}


def test_the_nightly_log(client: TestClient, session: Session, parea: PatrolArea) -> None:
    from gis.patrol.patrols import add_fixes, start_patrol

    day = date(2024, 5, 6)
    p = start_patrol(session, parea.worker, client_key="n", at=local(2024, 5, 6, 9))
    fixes = ring_walk(local(2024, 5, 6, 9), 125)
    for k in range(0, len(fixes), 1000):
        add_fixes(session, parea.worker, p.id, batch_key=f"n{k}", fixes=fixes[k : k + 1000])
    session.commit()
    ck = {"client_key": "c", "lon": IN[0], "lat": IN[1], "t": local(2024, 5, 6, 10).isoformat()}
    visit = client.post(f"/v1/patrols/{p.id}/checkins", json=ck, headers=parea.worker_h).json()["visit_id"]
    body = {"client_key": "a", "answers": [{"item": "safety", "status": "ok"},
                                           {"item": "residents", "status": "problem", "note": "路灯不亮"}]}  # fmt: skip
    ticket_id = client.post(f"/v1/patrols/visits/{visit}/answers", json=body, headers=parea.worker_h).json()[
        "tickets"][0]["ticket_id"]  # fmt: skip
    out = nightly_patrols(session, day)
    assert p.id in out["auto_closed"]  # never ended: closed with a flag
    logs = {(r.subject_kind, r.subject): r.data for r in session.scalars(select(PatrolLog).where(PatrolLog.day == day))}
    worker = logs[("worker", str(parea.worker.id))]
    assert worker["visits"] == 1 and worker["checked"] == ["安全隐患", "居民诉求"]
    assert worker["found"][0]["note"] == "路灯不亮" and worker["ticketed"] == [ticket_id]
    assert worker["minutes_on_site"][COMPOUND] >= 120 and worker["walked_m"] > 7000
    assert logs[("compound", COMPOUND)]["ticketed"] == [ticket_id]
    r = client.get("/v1/patrols/log", params={"date": "2024-05-06", "compound": COMPOUND, "format": "md"},
                   headers=parea.manager_h)  # fmt: skip
    assert r.status_code == 200 and "民情工作日志" in r.text and f"#{ticket_id}" in r.text
    # the printable A4 page of the worker's day, as the manager prints it
    page = client.get("/v1/patrols/log", params={"date": "2024-05-06", "worker_id": parea.worker.id, "format": "html"},
                      headers=parea.manager_h)  # fmt: skip
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "@page { size: A4" in text and '<html lang="zh-CN">' in text and "<script" not in text
    assert "民情工作日志" in text and parea.worker.full_name in text and "2024-05-06" in text
    compound_name = session.scalar(select(Compound.name).where(Compound.code == COMPOUND))
    assert f"<td>{compound_name}</td>" in text and "达标" in text  # on site ≥ 120 min in that compound
    assert "安全隐患、居民诉求" in text and "路灯不亮" in text and f"#{ticket_id}" in text
    assert "日巡查" in text and "日记录" in text and "日反馈" in text and "社区审核" in text
    ended = client.post(f"/v1/patrols/{p.id}/end", json={}, headers=parea.worker_h).json()
    assert ended["auto_closed"] is True


def test_manager_reads_rule_coverage_tracks(client: TestClient, session: Session, parea: PatrolArea) -> None:
    q = {"date": "2024-05-06", "community": parea.community}
    assert client.get("/v1/patrols/rule", params=q, headers=parea.manager_h).status_code == 200
    assert client.get("/v1/patrols/rule", params={**q, "community": "990000000099"},
                      headers=parea.manager_h).status_code in (403, 404)  # fmt: skip
    assert client.get("/v1/patrols/rule", params={"date": "2024-05-06"}, headers=parea.manager_h).status_code == 403
    r = client.get("/v1/patrols/tracks", params={"date": "2024-05-06", "worker_id": parea.worker.id},
                   headers=parea.manager_h)  # fmt: skip
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"
    r = client.put(f"/v1/compounds/{COMPOUND}/assignments", json={"worker_ids": [parea.worker.id]},
                   headers=parea.manager_h)  # fmt: skip
    assert r.status_code == 422  # fewer than 2
    r = client.put(f"/v1/compounds/{COMPOUND}/assignments", json={"worker_ids": [parea.worker.id, parea.other.id]},
                   headers=parea.manager_h)  # fmt: skip
    assert r.status_code == 200
    rows = client.get("/v1/patrols/assignments", params={"community": parea.community}, headers=parea.manager_h)
    assert {w["id"] for w in rows.json()[0]["workers"]} == {parea.worker.id, parea.other.id}


@pytest.mark.parametrize("route", sorted(PATROL_ROUTE_ROLES))
def test_route_roles(client: TestClient, session: Session, parea: PatrolArea, make_user: Any, route: str) -> None:
    pid = _start(client, parea.worker_h, key="roles")
    t = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    ck = {"client_key": "c", "lon": IN[0], "lat": IN[1], "t": t}
    visit = client.post(f"/v1/patrols/{pid}/checkins", json=ck, headers=parea.worker_h).json()["visit_id"]
    method, path = route.split(" ", 1)
    path = path.replace("{code}", COMPOUND).replace("{id}", str(pid)).replace("{visit_id}", str(visit))
    bodies: dict[str, Any] = {
        "PUT /v1/compounds/{code}/assignments": {"worker_ids": [parea.worker.id, parea.other.id]},
        "POST /v1/patrols": {"client_key": "r"},
        "POST /v1/patrols/{id}/fixes": {"batch_key": "r", "fixes": [_fix(datetime.now(UTC) - timedelta(minutes=1))]},
        "POST /v1/patrols/{id}/checkins": {**ck, "client_key": "r"},
        "POST /v1/patrols/visits/{visit_id}/answers": {"client_key": "r", "answers": [{"item": "safety",
                                                                                        "status": "ok"}]},
        "POST /v1/patrols/{id}/end": {},
        "POST /v1/must-visit": {"cell_code": parea.left, "building": "1", "unit": "1", "kind": "other"},
    }  # fmt: skip
    params = {"community": parea.community, "date": "2024-05-06", "worker_id": parea.worker.id}
    headers = {
        "admin": parea.admin_h,
        "manager": parea.manager_h,
        "grid_worker": parea.worker_h,
        "resident": parea.resident_h,
        "department": make_user("department")[1],
        "planner": make_user("planner")[1],
        "anonymous": {},
    }
    for role, expected in PATROL_ROUTE_ROLES[route].items():
        r = client.request(method, path, json=bodies.get(route), params=params if method == "GET" else None,
                           headers=headers[role])  # fmt: skip
        got = "2xx" if 200 <= r.status_code < 300 else str(r.status_code)
        assert got == expected, (route, role, r.status_code, r.text[:200])
