"""物业管理联席会议 records: date, attendees, decisions, each decision linked to the tickets it settles."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import User
from gis.participation import access
from gis.participation.models import JointMeeting, MeetingTicket
from gis.tickets.models import Ticket


def record(
    session: Session,
    user: User,
    *,
    community_code: str,
    held_on: date,
    title: str,
    attendees: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    compound_code: str | None = None,
) -> JointMeeting:
    """The community records a 联席会议; every ticket a decision names must be in that community."""
    access.require_community(session, user, community_code)
    access.community_name(session, community_code)
    if compound_code is not None and not compound_code.startswith(community_code):
        raise InvalidInput(f"小区 {compound_code} 不在社区 {community_code} / compound not in the community")
    if not attendees:
        raise InvalidInput("请填写参会人员 / list the attendees")
    ids = sorted({int(t) for d in decisions for t in d.get("ticket_ids") or []})
    found = dict(session.execute(select(Ticket.id, Ticket.community_code).where(Ticket.id.in_(ids))).tuples().all())
    missing = sorted(set(ids) - set(found))
    if missing:
        raise NotFound(f"没有工单 {missing} / no ticket {missing}")
    elsewhere = sorted(i for i, c in found.items() if c != community_code)
    if elsewhere:
        raise InvalidInput(f"工单 {elsewhere} 不在社区 {community_code} / tickets {elsewhere} are in other communities")
    meeting = JointMeeting(
        community_code=community_code,
        compound_code=compound_code,
        held_on=held_on,
        title=title,
        attendees=attendees,
        decisions=decisions,
        created_by_id=user.id,
    )
    session.add(meeting)
    session.flush()
    by_ticket: dict[int, list[str]] = {}
    for d in decisions:
        for t in d.get("ticket_ids") or []:
            by_ticket.setdefault(int(t), []).append(str(d.get("text") or ""))
    session.add_all(
        [MeetingTicket(meeting_id=meeting.id, ticket_id=t, decision="；".join(texts)) for t, texts in by_ticket.items()]
    )
    session.flush()
    return meeting


def meeting_public(session: Session, m: JointMeeting) -> dict[str, Any]:
    tickets = session.execute(
        select(MeetingTicket.ticket_id, MeetingTicket.decision).where(MeetingTicket.meeting_id == m.id)
    ).tuples()
    return {
        "id": m.id,
        "community_code": m.community_code,
        "compound_code": m.compound_code,
        "held_on": m.held_on,
        "title": m.title,
        "attendees": m.attendees,
        "decisions": m.decisions,
        "tickets": [{"ticket_id": t, "decision": d} for t, d in tickets],
    }


def list_meetings(
    session: Session, user: User, *, community: str | None = None, ticket_id: int | None = None
) -> list[dict[str, Any]]:
    """The meetings of the communities `user` answers for (newest first), or those that decided a ticket."""
    if user.role not in access.COMMUNITY_ROLES:
        raise Forbidden("只有社区能查看联席会议记录 / only a community (manager) or an admin reads the meetings")
    stmt = select(JointMeeting).where(access.community_filter(session, user, JointMeeting.community_code, community))
    if ticket_id is not None:
        stmt = stmt.where(
            JointMeeting.id.in_(select(MeetingTicket.meeting_id).where(MeetingTicket.ticket_id == ticket_id))
        )
    rows = session.scalars(stmt.order_by(JointMeeting.held_on.desc(), JointMeeting.id.desc()).limit(200))
    return [meeting_public(session, m) for m in rows]
