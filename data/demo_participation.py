"""Demo participation for every demo community: 双报到 party members and volunteers (a few still pending), teams
with leaders, service items past and to come at compounds, cells and points, claims signed on site with hours
confirmed, the 积分 ledger (sorting by weight, volunteer hours, some redemptions on past exchange days), goods with
stock, 业委会 / 监督员 for the first compounds with monthly ratings of their property company, and a 联席会议 per
community deciding some of its tickets.

The demo account resident1 is a confirmed volunteer of the first community (claims, hours, points); resident2 is a
物业服务监督员 of its first compound with a property company. Deterministic for a seed."""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import any_, delete, literal, select, text
from sqlalchemy.orm import Session

from data import names
from gis.models import AdminArea, Compound, GridCell, User, utcnow
from gis.participation import ledger
from gis.participation.config import load_config
from gis.participation.members import month_start
from gis.participation.models import (
    Claim,
    CompoundRole,
    ExchangeGoods,
    JointMeeting,
    MeetingTicket,
    Member,
    PointsBalance,
    PointsEntry,
    PropertyRating,
    ServiceItem,
    Team,
    TeamMember,
)
from gis.tickets.models import Ticket
from gis.tickets.sla import SHANGHAI

log = logging.getLogger(__name__)

MEMBERS = 10  # per community (two of them still pending)
WORK_UNITS = ("区人社局", "区住建局", "市第三中学", "区人民医院", "区司法局", "供电公司", "区税务局", "街道办事处")
SKILLS = ("调解", "法律", "医疗", "教育", "维修", "电工", "心理", "垃圾分类", "助老")
ITEMS = (  # kind, title, hours, capacity, skills
    ("security_patrol", "夜间治安巡逻", 2, 4, ()),
    ("mediation", "邻里矛盾纠纷调解", 2, 2, ("调解",)),
    ("tutoring", "假期青少年托管·课后辅导", 3, 3, ()),
    ("environment", "楼道环境整治", 2, 6, ()),
    ("elderly_care", "独居老人助老服务", 2, 2, ()),
    ("garbage_sorting", "垃圾分类督导", 2, 3, ()),
    ("repair", "义务维修", 3, 2, ()),
)
GOODS = (("垃圾袋", 10, 200), ("洗衣液", 60, 40), ("大米5斤", 120, 20))


def purge_demo_participation(session: Session) -> None:
    """Remove all participation rows (the demo 街道 is being replaced: its places and users go too). The ledger is
    append-only: its trigger is switched off for this transaction alone (ALTER TABLE: the owner only)."""
    session.execute(text("ALTER TABLE points_entries DISABLE TRIGGER points_entries_append_only"))
    session.execute(delete(PointsEntry))
    session.execute(text("ALTER TABLE points_entries ENABLE TRIGGER points_entries_append_only"))
    for model in (
        PointsBalance,
        ExchangeGoods,
        MeetingTicket,
        JointMeeting,
        PropertyRating,
        CompoundRole,
        Claim,
        ServiceItem,
        TeamMember,
        Team,
        Member,
    ):
        session.execute(delete(model))


def _local(d: date, hour: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=SHANGHAI)


def _resident(session: Session, rng: random.Random, username: str, password_hash: str) -> User:
    """A demo resident account (the demo's one password hash, so a demo reload removes it)."""
    user = User(
        username=username,
        password_hash=password_hash,
        role="resident",
        full_name=names.person_name(rng),
        phone=names.mobile(rng),
    )
    session.add(user)
    session.flush()
    return user


def _members(
    session: Session, rng: random.Random, community: str, index: int, password_hash: str, first: User | None
) -> list[Member]:
    out = []
    for k in range(MEMBERS):
        if k == 0 and first is not None:
            user = first
        else:
            user = _resident(session, rng, f"vol{index + 1:02d}{k:02d}", password_hash)
        party = k % 2 == 1
        member = Member(
            user_id=user.id,
            kind="party_member" if party else "volunteer",
            name=user.full_name,
            phone=user.phone or names.mobile(rng),
            community_code=community,
            work_unit=rng.choice(WORK_UNITS) if party else None,
            skills=sorted(rng.sample(SKILLS, 2)),
            status="pending" if k >= MEMBERS - 2 else "confirmed",
            created_at=utcnow() - timedelta(days=60),
        )
        if member.status == "confirmed":
            member.confirmed_at = utcnow() - timedelta(days=55)
        out.append(member)
    session.add_all(out)
    session.flush()
    return out


def _item(
    community: str,
    place: tuple[str, str, str],
    spec: tuple[Any, ...],
    start: datetime,
    manager: User,
    team: Team | None = None,
) -> ServiceItem:
    kind, title, hours, capacity, skills = spec
    place_kind, code, name = place
    table = Compound if place_kind == "compound" else GridCell
    geom = select(table.geom).where(table.code == code)
    if table is GridCell:
        geom = geom.where(GridCell.valid_to.is_(None))
    return ServiceItem(
        community_code=community,
        kind=kind,
        title=title,
        place_kind=place_kind,
        place_code=code,
        place_name=name,
        geom=geom.scalar_subquery(),
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        capacity=capacity,
        skills=list(skills),
        created_by_id=manager.id,
        team_id=team.id if team else None,
    )


def _community(
    session: Session,
    rng: random.Random,
    community: str,
    index: int,
    password_hash: str,
    first: User | None,
    supervisor: User | None,
    now: datetime,
) -> None:
    manager = session.scalar(select(User).where(User.role == "manager", literal(community) == any_(User.jurisdiction)))
    if manager is None:
        return
    members = _members(session, rng, community, index, password_hash, first)
    confirmed = [m for m in members if m.status == "confirmed"]
    teams = []
    for t, team_name in enumerate(("红马甲志愿服务队", "在职党员先锋队")):
        crew = confirmed[t::2]
        team = Team(community_code=community, name=team_name, leader_id=crew[0].id)
        session.add(team)
        session.flush()
        session.add_all([TeamMember(team_id=team.id, member_id=m.id) for m in crew])
        teams.append(team)
    compounds = session.execute(
        select(Compound.code, Compound.name, Compound.property_company_id)
        .where(Compound.code.startswith(community))
        .order_by(Compound.code)
        .limit(6)
    ).all()
    cells = session.execute(
        select(GridCell.code, GridCell.name)
        .where(GridCell.code.startswith(community), GridCell.valid_to.is_(None))
        .order_by(GridCell.code)
        .limit(3)
    ).all()
    places = [("compound", c.code, c.name) for c in compounds] + [("cell", c.code, c.name) for c in cells]
    today = now.astimezone(SHANGHAI).date()
    hour_rule = load_config().points_for(community).rules.get("volunteer_hour")
    # past items (the last three weeks): claimed, signed on site, most hours confirmed (and credited as points)
    for k in range(8):
        spec = ITEMS[k % len(ITEMS)]
        start = _local(today - timedelta(days=2 + 2 * k), 9 if k % 2 else 19)
        if k == 0:  # one served earlier today: "hours this month" is never empty on the demo
            start = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0) - timedelta(hours=spec[2] + 1)
        item = _item(community, places[k % len(places)], spec, start, manager)
        session.add(item)
        session.flush()
        eligible = [m for m in confirmed if not spec[4] or set(spec[4]) & set(m.skills)]
        if first is not None and index == 0 and k < 5 and confirmed[0] not in eligible:
            eligible = [confirmed[0], *eligible]
        crew = eligible[: item.capacity] if k < 5 else rng.sample(eligible, min(len(eligible), item.capacity))
        if first is not None and index == 0 and k < 5 and confirmed[0] not in crew:
            crew = [confirmed[0], *crew[: item.capacity - 1]]
        for m in crew:
            signed_in = start - timedelta(minutes=rng.randint(0, 15))
            signed_out = item.ends_at - timedelta(minutes=rng.randint(0, 20))
            minutes = round((min(signed_out, item.ends_at) - max(signed_in, start)).total_seconds() / 60, 1)
            c = Claim(
                item_id=item.id,
                member_id=m.id,
                claimed_by_id=m.user_id,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                claimed_at=start - timedelta(days=3),
                signed_in_at=signed_in,
                signed_in_m=round(rng.uniform(0, 40), 1),
                signed_out_at=signed_out,
                signed_out_m=round(rng.uniform(0, 40), 1),
                minutes=minutes,
            )
            if k < 6:
                c.confirmed_minutes, c.confirmed_by_id, c.confirmed_at = (
                    minutes,
                    manager.id,
                    min(signed_out + timedelta(hours=3), now),
                )
            session.add(c)
            session.flush()
            if c.confirmed_minutes and hour_rule is not None:
                ledger.append(
                    session,
                    community=community,
                    user_id=m.user_id,
                    kind="earn",
                    rule=hour_rule.code,
                    quantity=round(minutes / 60, 3),
                    points=round(minutes / 60 * hour_rule.points_per_unit),
                    ref=f"claim:{c.id}",
                    note=item.title,
                    recorded_by_id=manager.id,
                )
        item.claimed = len(crew)
    # items to come (the next week): open, some places claimed; one reserved for a team
    for k in range(7):
        spec = ITEMS[(k + 3) % len(ITEMS)]
        start = _local(today + timedelta(days=1 + k), 9 if k % 2 else 19)
        reserved = teams[0] if k == 6 else None
        item = _item(community, places[(k + 2) % len(places)], spec, start, manager, reserved)
        if reserved is not None:
            item.capacity = len(confirmed[0::2])
        session.add(item)
        session.flush()
        if k % 3 == 0:
            m = confirmed[(k + 1) % len(confirmed)]
            if not spec[4] or set(spec[4]) & set(m.skills):
                session.add(
                    Claim(
                        item_id=item.id,
                        member_id=m.id,
                        claimed_by_id=m.user_id,
                        starts_at=item.starts_at,
                        ends_at=item.ends_at,
                        claimed_at=now - timedelta(hours=5),
                    )
                )
                item.claimed = 1
    session.flush()
    # the 积分 ledger: sorting by weight, then redemptions of the last exchange day
    residents = [m.user_id for m in members]
    for _ in range(30):
        who = rng.choice(residents)
        rule, qty = rng.choice(
            (
                ("recyclables_kg", rng.randint(2, 12) / 2),
                ("kitchen_waste_kg", rng.randint(2, 10)),
                ("hazardous_item", 1),
            )
        )
        r = load_config().points_for(community).rule(rule)
        ledger.append(
            session,
            community=community,
            user_id=who,
            kind="earn",
            rule=rule,
            quantity=qty,
            points=max(1, round(qty * r.points_per_unit)),
            note="垃圾分类称重",
            recorded_by_id=manager.id,
        )
    goods = [ExchangeGoods(community_code=community, name=n, points_cost=cost, stock=stock) for n, cost, stock in GOODS]
    session.add_all(goods)
    session.flush()
    for who in residents[:6]:
        bag = goods[0]
        if ledger.balance(session, community, who) >= bag.points_cost:
            ledger.append(
                session,
                community=community,
                user_id=who,
                kind="redeem",
                rule=None,
                quantity=1,
                points=-bag.points_cost,
                ref=f"goods:{bag.id}",
                note=bag.name,
                recorded_by_id=manager.id,
            )
            bag.stock -= 1
    # compound bodies and the monthly ratings of the property company (last two months)
    rated = [c for c in compounds if c.property_company_id is not None][:3]
    items_cfg = list(load_config().rating_items)
    for n, cp in enumerate(rated):
        sups = [supervisor] if (supervisor is not None and index == 0 and n == 0) else []
        while len(sups) < 2:
            sups.append(_resident(session, rng, f"sup{index + 1:02d}{n}{len(sups)}", password_hash))
        since = today - timedelta(days=400)
        for u in sups:
            session.add(
                CompoundRole(compound_code=cp.code, user_id=u.id, body="supervisor", title="楼栋长", since=since)
            )
        session.add(
            CompoundRole(compound_code=cp.code, user_id=sups[0].id, body="owners_committee", title="委员", since=since)
        )
        quality = rng.choice((2, 3, 4, 5))
        for back in (1, 2):
            month = (month_start(now) - timedelta(days=27 * back)).date().replace(day=1)
            for u in sups:
                scores = {i: max(1, min(5, quality + rng.choice((-1, 0, 0, 1)))) for i in items_cfg}
                session.add(
                    PropertyRating(
                        compound_code=cp.code,
                        organization_id=cp.property_company_id,
                        rater_id=u.id,
                        month=month,
                        scores=scores,
                        score=round(sum(scores.values()) / len(scores), 3),
                        comment=None,
                    )
                )
    # a 联席会议 deciding two of the community's open tickets
    tickets = session.scalars(
        select(Ticket.id)
        .where(Ticket.community_code == community, Ticket.closed_at.is_(None))
        .order_by(Ticket.id)
        .limit(2)
    ).all()
    if tickets and compounds:
        decisions = [
            {"text": "物业本月内完成维修并公示", "ticket_ids": list(tickets[:1])},
            {"text": "社区牵头联合执法清理", "ticket_ids": list(tickets[1:])},
        ]
        meeting = JointMeeting(
            community_code=community,
            compound_code=compounds[0].code,
            held_on=today - timedelta(days=9),
            title="物业管理联席会议",
            created_by_id=manager.id,
            decisions=decisions,
            attendees=[
                {"name": manager.full_name, "unit": "社区党委"},
                {"name": names.person_name(rng), "unit": "物业公司"},
                {"name": names.person_name(rng), "unit": "业主委员会"},
            ],
        )
        session.add(meeting)
        session.flush()
        session.add_all(
            [
                MeetingTicket(meeting_id=meeting.id, ticket_id=t, decision=d["text"])
                for d in decisions
                for t in d["ticket_ids"]
            ]
        )


def load_demo_participation(session: Session, *, seed: int = 42) -> None:
    """Participation for every demo community (see the module docstring). A second run adds nothing."""
    if session.scalar(select(Member.id).limit(1)) is not None:
        return
    rng = random.Random(seed + 17)
    first = session.scalar(select(User).where(User.username == "resident1"))
    supervisor = session.scalar(select(User).where(User.username == "resident2"))
    password_hash = first.password_hash if first is not None else ""
    communities = session.scalars(select(AdminArea.code).where(AdminArea.level == "community").order_by(AdminArea.code))
    now = utcnow()
    for index, community in enumerate(list(communities)):
        _community(session, rng, community, index, password_hash, first if index == 0 else None, supervisor, now)
    session.flush()
    log.info("demo participation loaded")
