"""吹哨 with three departments: each 报到 and reports; the ticket resolves only when all parts are done;
automatic escalation when a 棘手 ticket passes its deadline."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.notify.models import OutboxMessage
from gis.tickets import tasks
from gis.tickets.models import Ticket
from tests.tickets.conftest import Area, act, ok, report


def test_three_departments_must_all_report_before_resolution(client: TestClient, area: Area, session: Session) -> None:
    t = report(client, area.resident, category="fire_lane_blocked", description="消防通道被杂物和车辆占用")["id"]
    lead = area.unit_member(area.departments["fire"].id)
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "dispatch")
    ok(client, lead, t, "claim")
    called = [area.departments[u] for u in ("urban_management", "police", "emergency")]
    members = {o.id: area.unit_member(o.id) for o in called}
    ok(client, area.dispatcher, t, "escalate", note="红色吹哨单", payload={"organization_ids": [o.id for o in called]})
    # every called department now sees the ticket and was notified (in its members' inboxes)
    for oid, h in members.items():
        assert client.get(f"/v1/tickets/{t}", headers=h).status_code == 200
        calls = session.query(OutboxMessage).filter_by(ticket_id=t, organization_id=oid, event="escalation_call")
        assert calls.count() == 1
    ok(client, members[called[0].id], t, "acknowledge")
    assert act(client, members[called[0].id], t, "acknowledge").status_code == 409  # 报到 once
    ok(client, members[called[0].id], t, "report_part", note="城管清理杂物")
    ok(client, members[called[1].id], t, "report_part", note="交警拖移车辆")
    r = act(client, lead, t, "resolve")
    assert r.status_code == 409 and r.json()["detail"]["open_parts"] == 1
    ok(client, members[called[2].id], t, "report_part", note="应急复查")
    assert ok(client, lead, t, "resolve")["state"] == "resolved"
    parts = client.get(f"/v1/tickets/{t}", headers=area.dispatcher).json()["parts"]
    assert {p["state"] for p in parts} == {"done"} and len(parts) == 3
    actions = [e["action"] for e in client.get(f"/v1/tickets/{t}/history", headers=area.dispatcher).json()]
    assert actions.count("part_done") == 3 and "parts_complete" in actions


def test_a_department_not_called_cannot_report_a_part(client: TestClient, area: Area) -> None:
    t = report(client, area.resident)["id"]
    ok(client, area.dispatcher, t, "accept")
    ok(client, area.dispatcher, t, "escalate", payload={"unit_types": ["urban_management"]})
    police = area.unit_member(area.departments["police"].id)  # the routed unit, not called
    r = act(client, police, t, "report_part", note="x")
    assert r.status_code == 403


def test_tough_tickets_escalate_automatically_when_late(client: TestClient, area: Area, session: Session) -> None:
    t = report(client, area.dispatcher, category="safety_hazard", channel="staff", tier="tough")["id"]
    ok(client, area.dispatcher, t, "accept")
    # demo tickets in the same database may fall due too: look at ours only
    assert t not in tasks.auto_escalate(session, now=utcnow() + timedelta(days=3))  # not yet late
    assert t in tasks.auto_escalate(session, now=utcnow() + timedelta(days=30))
    ticket = session.get(Ticket, t)
    assert ticket is not None and ticket.state == "escalated"
    history = client.get(f"/v1/tickets/{t}/history", headers=area.dispatcher).json()
    assert history[-1]["actor"] == "自动吹哨 (SLA)"


def test_overdue_tickets_are_flagged_once_and_listed(client: TestClient, area: Area, session: Session) -> None:
    t = report(client, area.resident)["id"]
    later = utcnow() + timedelta(hours=3)  # the 2 h 立案 stage has passed
    assert t in tasks.mark_overdue(session, now=later)
    assert t not in tasks.mark_overdue(session, now=later)
    listed = client.get("/v1/tickets", params={"overdue": "true"}, headers=area.dispatcher).json()
    assert listed["numberMatched"] == 0  # not overdue *now*
    session.get(Ticket, t).due_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    session.commit()
    listed = client.get("/v1/tickets/overdue", headers=area.dispatcher).json()
    assert [i["id"] for i in listed["items"]] == [t] and listed["items"][0]["ever_overdue"] is True


def test_nightly_summary_counts_the_day(client: TestClient, area: Area, session: Session) -> None:
    report(client, area.resident)
    data = tasks.nightly_summary(session, utcnow().astimezone(tasks.sla.SHANGHAI).date())
    assert data["opened"] >= 1 and data["by_community"][area.community] == 1
    again = tasks.nightly_summary(session, utcnow().astimezone(tasks.sla.SHANGHAI).date())
    assert again["opened"] == data["opened"]  # re-running replaces the day's report
