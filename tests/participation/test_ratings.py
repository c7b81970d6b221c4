"""业委会 / 物管会 / 监督员: appointed by the community, monthly ratings by a compound's 监督员 only (403 with the
reason otherwise), fixed items, property_scores() for the 红黑榜, and 联席会议 linked to the tickets they decide."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from gis.evaluation.rankings import rule_for
from gis.evaluation.terms import TERMS, TermContext
from gis.evaluation.units import Period
from gis.models import Compound, Organization
from gis.participation.ratings import property_scores
from tests.participation.conftest import COMMUNITY, COMPOUND, Area, Maker
from tests.participation.test_members_items import _ticket

P = "/v1/participation"
SCORES = {"sanitation": 5, "security": 4, "repairs": 3, "greening": 4, "fire_safety": 5, "attitude": 3}


def test_only_the_compounds_supervisors_rate_and_scores_reach_the_ranking(
    client: TestClient, session: Session, area: Area, make_user: Maker
) -> None:
    company = Organization(code="PM-TEST", name="测试物业", kind="property_company")
    session.add(company)
    session.flush()
    session.execute(update(Compound).where(Compound.code == COMPOUND).values(property_company_id=company.id))
    session.commit()
    sup, sup_h = make_user("resident")
    sup2, sup2_h = make_user("resident")
    _, stranger_h = make_user("resident")
    for u in (sup, sup2):
        body = {"user_id": u.id, "body": "supervisor", "title": "楼栋长", "since": "2026-01-01"}
        assert client.post(f"{P}/compounds/{COMPOUND}/bodies", json=body, headers=sup_h).status_code == 403
        r = client.post(f"{P}/compounds/{COMPOUND}/bodies", json=body, headers=area.manager_h)
        assert r.status_code == 201 and r.json()["body_label"] == "物业服务监督员"
    listed = client.get(f"{P}/compounds/{COMPOUND}/bodies", headers=sup_h).json()
    assert {b["user_id"] for b in listed} == {sup.id, sup2.id}
    assert client.get(f"{P}/compounds/{COMPOUND}/bodies", headers=stranger_h).status_code == 403

    rating = {"compound_code": COMPOUND, "month": "2026-11-01", "scores": SCORES, "comment": "维修偏慢"}
    r = client.post(f"{P}/ratings", json=rating, headers=stranger_h)
    assert r.status_code == 403 and "物业服务监督员" in r.json()["message"] and COMPOUND in r.json()["message"]
    assert client.post(f"{P}/ratings", json={**rating, "scores": {"sanitation": 5}}, headers=sup_h).status_code == 422
    assert (
        client.post(f"{P}/ratings", json={**rating, "scores": {**SCORES, "repairs": 9}}, headers=sup_h).status_code
        == 422
    )
    r = client.post(f"{P}/ratings", json=rating, headers=sup_h)
    assert r.status_code == 201 and r.json()["score"] == 4.0 and r.json()["organization_id"] == company.id
    assert client.post(f"{P}/ratings", json=rating, headers=sup_h).status_code == 409  # once a month
    low = {**rating, "scores": dict.fromkeys(SCORES, 2)}
    assert client.post(f"{P}/ratings", json=low, headers=sup2_h).status_code == 201
    future = {**rating, "month": "2099-01-01"}
    assert client.post(f"{P}/ratings", json=future, headers=sup_h).status_code == 422
    # the 红黑榜 term: the mean of the month's ratings, 0–100
    assert property_scores(session, date(2026, 11, 15), [company.id]) == {company.id: 60.0}
    assert property_scores(session, date(2026, 10, 1), [company.id]) == {}
    # … and it reaches the 红黑榜: the "supervisor_rating" term of the property ranking (0–1), averaged over the
    # rated months of the period; a company nobody rated has no value (left out of its score)
    rule = rule_for("property")
    assert "supervisor_rating" in [t.term for t in rule.terms]
    term = TERMS["supervisor_rating"].fn
    month = TermContext(session, Period(date(2026, 11, 1), date(2026, 11, 30)), "property", {company.id: {}, -1: {}})
    assert term(month) == {company.id: 0.6, -1: None}
    quarter = TermContext(session, Period(date(2026, 10, 1), date(2026, 12, 31)), "property", {company.id: {}})
    assert term(quarter) == {company.id: 0.6}
    scores = client.get(f"{P}/property-scores", params={"month": "2026-11-01"}, headers=area.manager_h).json()
    assert scores[str(company.id)] == 60.0
    assert client.get(f"{P}/property-scores", params={"month": "2026-11-01"}, headers=sup_h).status_code == 403
    mine = client.get(f"{P}/ratings", params={"month": "2026-11-01"}, headers=sup_h).json()
    assert len(mine) == 1 and mine[0]["rater_id"] == sup.id
    _, company_h = make_user("property", organization_id=company.id)
    seen = client.get(f"{P}/ratings", params={"month": "2026-11-01"}, headers=company_h).json()
    assert len(seen) == 2 and {x["rater_id"] for x in seen} == {
        None
    }  # the company reads its ratings, not who gave them


def test_joint_meetings_link_the_tickets_they_decide(client: TestClient, session: Session, area: Area) -> None:
    t1, t2 = _ticket(session, "elevator"), _ticket(session, "fire_lane_blocked")
    body = {
        "community_code": COMMUNITY,
        "compound_code": COMPOUND,
        "held_on": "2026-11-20",
        "title": "物业管理联席会议",
        "attendees": [{"name": "李书记", "unit": "社区党委"}, {"name": "赵经理", "unit": "测试物业"}],
        "decisions": [
            {"text": "本月内更换3号楼电梯钢丝绳", "ticket_ids": [t1]},
            {"text": "清理消防通道，物业每日巡查", "ticket_ids": [t2, t1]},
        ],
    }
    assert client.post(f"{P}/meetings", json=body, headers=area.other_manager_h).status_code == 403
    r = client.post(f"{P}/meetings", json=body, headers=area.manager_h)
    assert r.status_code == 201
    by_ticket = {t["ticket_id"]: t["decision"] for t in r.json()["tickets"]}
    assert by_ticket[t1] == "本月内更换3号楼电梯钢丝绳；清理消防通道，物业每日巡查" and t2 in by_ticket
    found = client.get(f"{P}/meetings", params={"ticket_id": t2}, headers=area.manager_h).json()
    assert [m["id"] for m in found] == [r.json()["id"]]
    missing = {**body, "decisions": [{"text": "x", "ticket_ids": [2_000_000_000]}]}
    assert client.post(f"{P}/meetings", json=missing, headers=area.manager_h).status_code == 404
    assert client.post(f"{P}/meetings", json={**body, "attendees": []}, headers=area.manager_h).status_code == 422
