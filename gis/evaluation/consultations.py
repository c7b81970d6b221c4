"""议事协商 / 圆桌会议 (C1): per compound, topics (e.g. 加装电梯) discussed over rounds of meetings — date,
place, attendance, votes, minutes, photos — with the agreement rate per round, the outcome and the tickets
the topic concerns.

Agreement rate of a round = agree ÷ attendance (abstentions and absentees do not agree). Writers: admins, and
the managers and grid workers whose jurisdiction holds the compound. Readers: those, planners, and the
compound's property company.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from gis.access import AREA_ROLES, WIDE_ROLES, area_codes
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.evaluation.models import ConsultationMeeting, ConsultationTopic, consultation_topic_tickets
from gis.evaluation.units import Period
from gis.models import AdminArea, Compound, User, utcnow
from gis.tickets.models import Attachment, Ticket


def _compound(session: Session, code: str) -> Compound:
    row = session.scalar(select(Compound).where(Compound.code == code))
    if row is None:
        raise NotFound(f"没有小区 {code} / no compound {code}")
    return row


def _in_scope(session: Session, user: User, compound: Compound) -> bool:
    scope = area_codes(session, user)
    community = session.scalar(select(AdminArea.code).where(AdminArea.id == compound.community_id)) or ""
    return any(c.startswith(s) for s in scope for c in (compound.code, compound.cell_code or "", community))


def require_reader(session: Session, user: User, compound: Compound) -> None:
    if user.role in WIDE_ROLES:
        return
    if user.role in AREA_ROLES and _in_scope(session, user, compound):
        return
    if user.role == "property" and user.organization_id and user.organization_id == compound.property_company_id:
        return
    raise Forbidden(f"小区 {compound.code} 的议事协商不在您的范围 / compound {compound.code} is outside your scope")


def require_writer(session: Session, user: User, compound: Compound) -> None:
    if user.role == "admin" or (user.role in AREA_ROLES and _in_scope(session, user, compound)):
        return
    raise Forbidden(
        "议事协商由社区网格人员记录 / topics and meetings are recorded by the community's managers and workers"
    )


def _check_tickets(session: Session, ids: list[int]) -> list[int]:
    ids = sorted(set(ids))
    found = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"没有这些工单 / no tickets with ids {missing}")
    return ids


def _link(session: Session, topic_id: int, ticket_ids: list[int]) -> None:
    session.execute(delete(consultation_topic_tickets).where(consultation_topic_tickets.c.topic_id == topic_id))
    if ticket_ids:
        rows = [{"topic_id": topic_id, "ticket_id": t} for t in ticket_ids]
        session.execute(insert(consultation_topic_tickets).values(rows))


def create_topic(
    session: Session, user: User, compound_code: str, *, title: str, description: str | None, ticket_ids: list[int]
) -> dict[str, Any]:
    compound = _compound(session, compound_code)
    require_writer(session, user, compound)
    ids = _check_tickets(session, ticket_ids)
    topic = ConsultationTopic(
        compound_code=compound.code, title=title.strip(), description=description, created_by_id=user.id,
        created_at=utcnow(), status="open",
    )  # fmt: skip
    session.add(topic)
    session.flush()
    _link(session, topic.id, ids)
    session.commit()
    return topic_view(session, topic)


def _topic(session: Session, topic_id: int) -> tuple[ConsultationTopic, Compound]:
    topic = session.get(ConsultationTopic, topic_id)
    if topic is None:
        raise NotFound(f"没有议题 {topic_id} / no consultation topic {topic_id}")
    return topic, _compound(session, topic.compound_code)


def update_topic(
    session: Session,
    user: User,
    topic_id: int,
    *,
    status: str | None,
    outcome: str | None,
    ticket_ids: list[int] | None,
) -> dict[str, Any]:
    topic, compound = _topic(session, topic_id)
    require_writer(session, user, compound)
    if status is not None:
        topic.status = status
    if outcome is not None:
        topic.outcome = outcome
    if ticket_ids is not None:
        _link(session, topic.id, _check_tickets(session, ticket_ids))
    session.commit()
    return topic_view(session, topic)


def add_meeting(
    session: Session,
    user: User,
    topic_id: int,
    *,
    held_at: datetime,
    place: str | None,
    attendance: int,
    agree: int,
    disagree: int,
    abstain: int,
    minutes: str | None,
    photo_ids: list[int],
) -> dict[str, Any]:
    """The next round of a topic (round numbers follow on: 1, 2, 3 …)."""
    topic, compound = _topic(session, topic_id)
    require_writer(session, user, compound)
    if agree + disagree + abstain > attendance:
        raise InvalidInput(
            f"表决人数超过到会人数 / agree + disagree + abstain ({agree + disagree + abstain}) exceeds attendance "
            f"({attendance})"
        )
    photos = sorted(set(photo_ids))
    if photos:
        found = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(photos))))
        if missing := [p for p in photos if p not in found]:
            raise InvalidInput(f"没有这些照片 / no photos with ids {missing}: upload them first (POST /v1/attachments)")
    session.execute(select(ConsultationTopic.id).where(ConsultationTopic.id == topic.id).with_for_update())
    last = session.scalar(select(func.max(ConsultationMeeting.round)).where(ConsultationMeeting.topic_id == topic.id))
    session.add(
        ConsultationMeeting(
            topic_id=topic.id,
            round=(last or 0) + 1,
            held_at=held_at,
            place=place,
            attendance=attendance,
            agree=agree,
            disagree=disagree,
            abstain=abstain,
            minutes=minutes,
            photo_ids=photos,
            created_at=utcnow(),
        )  # fmt: skip
    )
    session.commit()
    return topic_view(session, topic)


def agreement_rate(m: ConsultationMeeting) -> float | None:
    return round(m.agree / m.attendance, 4) if m.attendance else None


def topic_view(session: Session, topic: ConsultationTopic) -> dict[str, Any]:
    meetings = list(
        session.scalars(
            select(ConsultationMeeting)
            .where(ConsultationMeeting.topic_id == topic.id)
            .order_by(ConsultationMeeting.round)
        )
    )
    tickets = sorted(
        session.scalars(
            select(consultation_topic_tickets.c.ticket_id).where(consultation_topic_tickets.c.topic_id == topic.id)
        )
    )
    rates = [agreement_rate(m) for m in meetings]
    return {
        "id": topic.id,
        "compound_code": topic.compound_code,
        "compound_name": session.scalar(select(Compound.name).where(Compound.code == topic.compound_code)),
        "title": topic.title,
        "description": topic.description,
        "status": topic.status,
        "outcome": topic.outcome,
        "created_at": topic.created_at,
        "ticket_ids": tickets,
        "meetings": [
            {
                "id": m.id,
                "round": m.round,
                "held_at": m.held_at,
                "place": m.place,
                "attendance": m.attendance,
                "agree": m.agree,
                "disagree": m.disagree,
                "abstain": m.abstain,
                "agreement_rate": agreement_rate(m),
                "minutes": m.minutes,
                "photo_ids": list(m.photo_ids or []),
            }  # fmt: skip
            for m in meetings
        ],
        "rounds": len(meetings),
        "first_agreement_rate": rates[0] if rates else None,
        "last_agreement_rate": rates[-1] if rates else None,
    }


def get_topic(session: Session, user: User, topic_id: int) -> dict[str, Any]:
    topic, compound = _topic(session, topic_id)
    require_reader(session, user, compound)
    return topic_view(session, topic)


def list_topics(session: Session, user: User, compound_code: str) -> list[dict[str, Any]]:
    compound = _compound(session, compound_code)
    require_reader(session, user, compound)
    topics = session.scalars(
        select(ConsultationTopic).where(ConsultationTopic.compound_code == compound.code).order_by(ConsultationTopic.id)
    )
    return [topic_view(session, t) for t in topics]


STATUS_LABELS = {"open": "协商中", "agreed": "已达成", "rejected": "未通过", "shelved": "搁置"}


def public_topics(session: Session, compound_code: str, *, recent_days: int = 365, limit: int = 6,
                  now: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The 议事协商 card of the compound's 服务资源地图 (public): its open topics and the others created or met
    on in the last `recent_days` (topics keep no closing date), open first, then the latest touched; public
    fields only — title, status, outcome, rounds, the latest round's date and agreement rate (no place,
    minutes, photos, votes or names)."""
    since = (now or utcnow()) - timedelta(days=recent_days)
    last = (
        select(ConsultationMeeting.topic_id, func.max(ConsultationMeeting.round).label("round"))
        .group_by(ConsultationMeeting.topic_id)
        .subquery()
    )
    stmt = (
        select(ConsultationTopic, ConsultationMeeting, last.c.round)
        .outerjoin(last, last.c.topic_id == ConsultationTopic.id)
        .outerjoin(
            ConsultationMeeting,
            (ConsultationMeeting.topic_id == ConsultationTopic.id) & (ConsultationMeeting.round == last.c.round),
        )
        .where(ConsultationTopic.compound_code == compound_code)
    )
    out = []
    for topic, meeting, rounds in session.execute(stmt).tuples():
        touched = max(topic.created_at, meeting.held_at) if meeting is not None else topic.created_at
        if topic.status != "open" and touched < since:
            continue
        out.append({
            "title": topic.title,
            "status": topic.status,
            "status_label": STATUS_LABELS.get(topic.status, topic.status),
            "outcome": topic.outcome,
            "rounds": rounds or 0,
            "last_held_on": meeting.held_at.date().isoformat() if meeting is not None else None,
            "last_agreement_rate": agreement_rate(meeting) if meeting is not None else None,
            "_touched": touched,
        })  # fmt: skip
    out.sort(key=lambda t: (t["status"] != "open", -t["_touched"].timestamp()))
    return [{k: v for k, v in t.items() if k != "_touched"} for t in out[:limit]]


def street_summary(session: Session, street_code: str, period: Period) -> list[dict[str, Any]]:
    """The 通报's 议事协商 lines: topics of the 街道's compounds with a meeting in the period."""
    communities = select(AdminArea.id).where(AdminArea.code.startswith(street_code, autoescape=True))
    compounds = select(Compound.code).where(Compound.community_id.in_(communities))
    topic_ids = select(ConsultationMeeting.topic_id).where(
        ConsultationMeeting.held_at >= period.start, ConsultationMeeting.held_at < period.end
    )
    topics = session.scalars(
        select(ConsultationTopic)
        .where(ConsultationTopic.compound_code.in_(compounds), ConsultationTopic.id.in_(topic_ids))
        .order_by(ConsultationTopic.compound_code, ConsultationTopic.id)
    )
    out = []
    for t in topics:
        v = topic_view(session, t)
        held = [m for m in v["meetings"] if period.start <= m["held_at"] < period.end]
        out.append({**v, "meetings_in_period": len(held)})
    return out
