"""Demo tickets: a few hundred historical tickets in every state, spread over the demo cells, created
and moved through their lives by the real workflow functions (so events, SLA clocks, parts, ratings
and notifications are all consistent). Deterministic for a given seed; a second run adds nothing."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gis.auth import create_user
from gis.errors import GridError, InvalidInput
from gis.models import CellStaff, GridCell, Organization, User, utcnow
from gis.notify.models import OutboxMessage
from gis.tickets import dedupe, escalation, events, feedback, intake, workflow
from gis.tickets.config import load_config
from gis.tickets.models import (
    Attachment,
    FollowUp,
    IdempotencyKey,
    Open311Key,
    Rating,
    Ticket,
    TicketPart,
)
from gis.tickets.open311 import create_key

log = logging.getLogger(__name__)

PASSWORD = "gridgov-demo"
DEMO_OPEN311_KEY = "gridgov-demo-open311-key"
# final state → weight; every state appears at least once
TARGETS = {
    "reported": 8, "accepted": 6, "dispatched": 8, "claimed": 8, "in_progress": 10, "resolved": 8,
    "verified": 6, "closed": 30, "rejected": 3, "suspended": 3, "escalated": 5, "reopened": 3, "merged": 2,
}  # fmt: skip
PATHS = {
    "reported": [],
    "accepted": ["accept"],
    "dispatched": ["accept", "dispatch"],
    "claimed": ["accept", "dispatch", "claim"],
    "in_progress": ["accept", "dispatch", "claim", "start"],
    "resolved": ["accept", "dispatch", "claim", "start", "resolve"],
    "verified": ["accept", "dispatch", "claim", "start", "resolve", "verify"],
    "closed": ["accept", "dispatch", "claim", "start", "resolve", "follow_up", "rate_good", "verify", "close"],
    "rejected": ["accept", "dispatch", "reject"],
    "suspended": ["accept", "dispatch", "claim", "suspend"],
    "escalated": ["accept", "dispatch", "claim", "escalate"],
    "reopened": ["accept", "dispatch", "claim", "start", "resolve", "rate_bad"],
    "merged": [],
}
DESCRIPTIONS = {
    "garbage": "垃圾桶满溢，异味较大", "street_vendor": "路口流动摊贩占道经营", "illegal_construction": "楼顶私搭乱建",
    "streetlight": "路灯不亮，夜间出行不便", "road_damage": "井盖缺失存在安全隐患", "water_leak": "楼道水管漏水",
    "elevator": "电梯频繁停运", "property_service": "物业保洁不到位", "fire_lane_blocked": "消防通道被车辆占用",
    "illegal_parking": "小区门口乱停车", "noise": "夜间装修噪音扰民", "food_safety": "餐馆后厨卫生差",
    "tree": "大风刮倒树木压住车辆", "safety_hazard": "老旧电线私拉乱接", "dispute": "楼上楼下漏水纠纷",
    "elderly_care": "独居老人需要助餐服务", "other": "建议增设休息座椅",
}  # fmt: skip


def _user(session: Session, username: str, role: str, **kw: object) -> User:
    found = session.scalar(select(User).where(User.username == username))
    if found is not None:
        return found
    return create_user(session, username=username, password=PASSWORD, role=role, **kw)  # type: ignore[arg-type]


class _Cast:
    """The people a demo ticket meets, found in the demo data or created once (tk-… users)."""

    def __init__(self, session: Session, rng: random.Random) -> None:
        from data.demo_load import require_demo_database

        require_demo_database(session)  # tk-… accounts share the demo password: demo databases only
        self.session, self.rng = session, rng
        self.admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id)) or _user(
            session, "tk-dispatcher", "admin", full_name="工单调度员"
        )
        self.verifier = _user(session, "tk-verifier", "admin", full_name="核查员")
        self.residents = [
            _user(session, f"tk-resident{i:02d}", "resident", full_name=f"居民{i:02d}", phone=f"1380000{i:04d}")
            for i in range(1, 13)
        ]
        self._units: dict[int, User] = {}

    def unit(self, ticket: Ticket) -> User:
        if ticket.unit_id is None:  # community-handled: a worker of the cell (or the admin)
            worker = self.session.scalar(
                select(User)
                .join(CellStaff, CellStaff.user_id == User.id)
                .where(CellStaff.cell_code == ticket.cell_code)
            )
            return worker or self.admin
        if ticket.unit_id not in self._units:
            member = self.session.scalar(
                select(User).where(User.organization_id == ticket.unit_id, User.role == "department").order_by(User.id)
            )
            self._units[ticket.unit_id] = member or _user(
                self.session, f"tk-unit{ticket.unit_id}", "department", full_name=f"承办人{ticket.unit_id}",
                organization_id=ticket.unit_id,
            )  # fmt: skip
        return self._units[ticket.unit_id]


def _point(session: Session, cell_code: str, seed: int) -> tuple[float, float]:
    pt = func.ST_GeometryN(func.ST_GeneratePoints(GridCell.geom, 1, seed), 1)
    row = session.execute(
        select(func.ST_X(pt), func.ST_Y(pt)).where(GridCell.code == cell_code, GridCell.valid_to.is_(None))
    ).one()
    return float(row[0]), float(row[1])


def _walk(session: Session, cast: _Cast, ticket: Ticket, steps: list[str], t: datetime, rng: random.Random) -> None:
    for step in steps:
        t += timedelta(minutes=rng.randint(10, 600))
        unit = cast.unit(ticket)
        if step == "dispatch" and ticket.unit_id is None and ticket.unit_type != "community":
            org = session.scalar(select(Organization.id).where(Organization.kind == "department").limit(1))
            workflow.transition(session, ticket.id, "dispatch", user=cast.admin, payload={"unit_id": org}, now=t)
        elif step in ("accept", "dispatch", "close"):
            workflow.transition(session, ticket.id, step, user=cast.admin, now=t)
        elif step == "verify":
            workflow.transition(session, ticket.id, "verify", user=cast.verifier, note="现场核查已解决", now=t)
        elif step == "reject":
            workflow.transition(session, ticket.id, "reject", user=unit, note="不属于本单位职责", now=t)
        elif step == "suspend":
            workflow.transition(session, ticket.id, "suspend", user=unit, note="等待配件到货", now=t)
        elif step == "escalate":
            note = "红色吹哨单: 多部门联合处置"
            try:
                escalation.escalate(session, ticket.id, user=cast.admin, note=note, now=t)
            except InvalidInput:  # the demo lacks the configured unit types: call any three departments
                orgs = session.scalars(select(Organization.id).where(Organization.kind == "department").limit(3))
                escalation.escalate(session, ticket.id, user=cast.admin, organization_ids=list(orgs), note=note, now=t)
        elif step == "follow_up":
            feedback.follow_up(session, ticket.id, user=cast.verifier, method="phone", outcome="satisfied", now=t)
        elif step in ("rate_good", "rate_bad"):
            reporter = session.get(User, ticket.reporter_id) if ticket.reporter_id else None
            if reporter is not None:
                good = step == "rate_good"
                stars = rng.choice([4, 5, 5]) if good else rng.choice([1, 2])
                feedback.rate(session, ticket.id, user=reporter, stars=stars, solved=good, now=t,
                              comment="处理及时，满意" if good else "问题没有解决")  # fmt: skip
        else:  # claim, start, resolve
            workflow.transition(
                session, ticket.id, step, user=unit, note="已处理" if step == "resolve" else None, now=t
            )


def load_demo_tickets(session: Session, *, seed: int = 42, count: int = 300) -> int:
    """Create `count` demo tickets (in every state) over the live demo cells; returns how many were added."""
    if session.scalar(select(func.count()).where(Ticket.attributes["demo"].astext == "true")):
        return 0
    cells = list(session.scalars(select(GridCell.code).where(GridCell.valid_to.is_(None)).order_by(GridCell.code)))
    if not cells:
        log.warning("no grid cells: load the demo 街道 before demo tickets")
        return 0
    rng = random.Random(seed)
    cast = _Cast(session, rng)
    if session.scalar(select(func.count()).select_from(Open311Key)) == 0:
        create_key(session, "demo", key=DEMO_OPEN311_KEY)
    categories = list(load_config().categories)
    states = [s for s in TARGETS for _ in range(TARGETS[s])]
    plan = list(TARGETS) + [rng.choice(states) for _ in range(max(0, count - len(TARGETS)))]
    now = utcnow()
    made: list[Ticket] = []
    for i, target in enumerate(plan[:count]):
        # multi-step lives need room: at most 9 steps of ≤10 h each before now
        days = rng.uniform(0, 2) if target in ("reported", "accepted") else rng.uniform(4, 60)
        opened = now - timedelta(days=days)
        category = rng.choice(categories)
        open_ones = [t for t in made if t.state not in workflow.TERMINAL]
        base = rng.choice(open_ones) if target == "merged" and open_ones else None
        if base is not None:
            category, cell, opened = base.category, base.cell_code, max(opened, base.opened_at)
        else:
            cell = rng.choice(cells)
        lon, lat = _point(session, cell, seed * 1000 + i)
        reporter = rng.choice(cast.residents)
        channel = rng.choice(["resident", "resident", "grid_worker", "hotline_12345", "property_400"])
        if target in ("reopened", "closed"):
            channel = "resident"  # 评单 needs a reporter with an account
        draft = intake.TicketDraft(
            category=category, description=DESCRIPTIONS.get(category, "群众反映问题"), lon=lon, lat=lat,
            channel=channel, reporter_name=reporter.full_name, reporter_phone=reporter.phone,
            opened_at=opened, attributes={"demo": True},
            external_id=f"12345-{seed}-{i:05d}" if channel == "hotline_12345" else None,
        )  # fmt: skip
        actor = reporter if channel == "resident" else cast.admin
        savepoint = session.begin_nested()
        try:
            ticket = intake.create_ticket(session, draft, user=actor, now=opened).ticket
            if base is not None:
                dedupe.merge(session, ticket.id, base.id, user=cast.admin, now=opened + timedelta(minutes=30))
            else:
                _walk(session, cast, ticket, PATHS[target], opened, rng)
            savepoint.commit()
            made.append(ticket)
        except GridError as exc:  # e.g. no department to call for a 吹哨 in a thin demo
            savepoint.rollback()
            log.info("demo ticket %s (%s) skipped: %s", i, target, exc.message)
    session.flush()
    return len(made)


def purge_demo_tickets(session: Session) -> int:
    """Delete demo tickets and everything hanging off them (for `demo load --replace`)."""
    ids = list(session.scalars(select(Ticket.id).where(Ticket.attributes["demo"].astext == "true")))
    if not ids:
        return 0
    events.purge_events(session, ids)  # the audit trail is append-only: only a purge may remove it
    for model in (TicketPart, FollowUp, Rating, OutboxMessage, Attachment):
        session.execute(delete(model).where(model.ticket_id.in_(ids)))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.response["ticket_id"].as_integer().in_(ids)))
    session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(merged_into_id=None))
    session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
    return len(ids)
