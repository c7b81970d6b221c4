"""Claims (认领) of service items: first come within capacity (the database refuses a claim beyond capacity and two
overlapping claims of one member), a team leader claiming for the team's members, release before the window,
sign-in and sign-out on site (the distance to the place computed by PostGIS, in metres; the window from config),
hours confirmed by the community and credited as points when its rules have `volunteer_hour`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.crs import to_wgs84
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.participation import access, ledger
from gis.participation.config import load_config
from gis.participation.items import get_item
from gis.participation.members import team_member_ids
from gis.participation.models import Claim, Member, ServiceItem, Team, TeamMember
from gis.spatial import POINT_SQL
from gis.tickets.sla import SHANGHAI


@dataclass(frozen=True)
class Fix:
    """The phone's position at a sign-in or sign-out (lon/lat in `crs`, accuracy in metres when known)."""

    lon: float
    lat: float
    crs: str = "wgs84"
    accuracy_m: float | None = None


def _claimants(
    session: Session, user: User, item: ServiceItem, member_ids: list[int] | None
) -> tuple[list[Member], int | None]:
    """Who the claim is for: the member themself, or (a team leader) members of their team → (members, team id)."""
    me = access.require_member(session, user)
    ids = sorted(set(member_ids or [me.id]))
    team_id: int | None = None
    if ids != [me.id] or item.team_id is not None:
        teams = select(Team.id).where(Team.leader_id == me.id)
        if item.team_id is not None:
            teams = teams.where(Team.id == item.team_id)
        led = list(session.scalars(teams))
        covering = [t for t in led if set(ids) <= set(team_member_ids(session, t))]
        if item.team_id is not None and not led:
            in_team = session.scalar(
                select(TeamMember.team_id).where(TeamMember.team_id == item.team_id, TeamMember.member_id == me.id)
            )
            if in_team is None or ids != [me.id]:
                raise Forbidden(f"此项目已交给队伍 {item.team_id} / this item is reserved for team {item.team_id}")
            team_id = item.team_id
        elif not covering:
            raise Forbidden("只有队长能为队员认领 / only a team's leader claims for its members (and only for them)")
        else:
            team_id = covering[0]
    members = list(session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id)))
    unconfirmed = [m.id for m in members if m.status != "confirmed"]
    if unconfirmed:
        raise Conflict(f"成员 {unconfirmed} 尚未经社区确认 / members {unconfirmed} are not confirmed yet")
    return members, team_id


def _overlapping(session: Session, member_ids: list[int], item: ServiceItem) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Claim.member_id, ServiceItem.id, ServiceItem.title, Claim.starts_at, Claim.ends_at)
        .join(ServiceItem, ServiceItem.id == Claim.item_id)
        .where(
            Claim.member_id.in_(member_ids),
            Claim.status == "claimed",
            Claim.starts_at < item.ends_at,
            Claim.ends_at > item.starts_at,
        )
    ).tuples()
    return [
        {"member_id": m, "item_id": i, "title": t, "starts_at": s.isoformat(), "ends_at": e.isoformat()}
        for m, i, t, s, e in rows
    ]


def claim(
    session: Session, user: User, item_id: int, *, member_ids: list[int] | None = None, now: datetime | None = None
) -> list[Claim]:
    """Claim places on an item (first come, within capacity; a leader may claim for members of their team)."""
    now = now or utcnow()
    item = get_item(session, item_id)
    members, team_id = _claimants(session, user, item, member_ids)
    if item.status != "open":
        raise Conflict(f"服务项目 {item.id} 已取消 / item {item.id} is {item.status}")
    if now >= item.starts_at:
        raise Conflict("项目已开始，不能再认领 / the item's window has started: claims close when it starts")
    if item.skills:
        lacking = [m.id for m in members if not set(item.skills) & set(m.skills or [])]
        if lacking:
            raise InvalidInput(
                f"项目需要技能 {item.skills}，成员 {lacking} 没有登记 / "
                f"the item needs one of the skills {item.skills}; "
                f"members {lacking} have none of them"
            )
    ids = [m.id for m in members]
    mine = list(
        session.scalars(
            select(Claim.member_id).where(Claim.item_id == item.id, Claim.member_id.in_(ids), Claim.status == "claimed")
        )
    )
    if mine:
        raise Conflict(f"成员 {sorted(mine)} 已认领此项目 / members {sorted(mine)} hold a place on this item already")
    clash = _overlapping(session, ids, item)
    if clash:
        raise Conflict(
            "时间冲突：已认领同一时段的其他项目 / overlapping: a claim in the same window exists",
            detail={"overlapping": clash},
        )
    try:
        with session.begin_nested():
            # the guarded UPDATE takes the item's row lock: concurrent claims queue here, and the one that finds
            # no place left updates nothing (the CHECK claimed <= capacity backs it)
            taken = session.execute(
                update(ServiceItem)
                .where(
                    ServiceItem.id == item.id,
                    ServiceItem.status == "open",
                    ServiceItem.claimed + len(ids) <= ServiceItem.capacity,
                )
                .values(claimed=ServiceItem.claimed + len(ids))
                .returning(ServiceItem.claimed)
            ).first()
            if taken is None:
                session.refresh(item)
                left = item.capacity - item.claimed
                raise Conflict(
                    f"名额已满：剩余 {left} 个，需要 {len(ids)} 个 / beyond capacity: {left} place(s) left, "
                    f"{len(ids)} asked",
                    detail={"capacity": item.capacity, "places_left": left},
                )
            claims = [
                Claim(
                    item_id=item.id,
                    member_id=i,
                    team_id=team_id,
                    claimed_by_id=user.id,
                    starts_at=item.starts_at,
                    ends_at=item.ends_at,
                    claimed_at=now,
                )
                for i in ids
            ]
            session.add_all(claims)
            session.flush()
    except IntegrityError as exc:  # a concurrent claim got there first (the EXCLUDE or the unique live claim)
        name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if name == "ex_claim_no_overlap":
            raise Conflict(
                "时间冲突：已认领同一时段的其他项目 / overlapping: a claim in the same window exists"
            ) from exc
        if name == "uq_claim_live":
            raise Conflict("已认领此项目 / a place on this item is held already") from exc
        raise
    session.refresh(item)
    return claims


def _claim(session: Session, claim_id: int) -> tuple[Claim, ServiceItem, Member]:
    row = (
        session.execute(
            select(Claim, ServiceItem, Member)
            .join(ServiceItem, ServiceItem.id == Claim.item_id)
            .join(Member, Member.id == Claim.member_id)
            .where(Claim.id == claim_id)
        )
        .tuples()
        .first()
    )
    if row is None:
        raise NotFound(f"没有认领记录 {claim_id} / no claim {claim_id}")
    return row


def release(session: Session, user: User, claim_id: int, *, now: datetime | None = None) -> Claim:
    """Give a place back before the window starts (the member, the leader who claimed it, or the community)."""
    now = now or utcnow()
    c, item, member = _claim(session, claim_id)
    mine = member.user_id == user.id or c.claimed_by_id == user.id
    if not mine and not (user.role in access.COMMUNITY_ROLES and access.in_scope(session, user, item.community_code)):
        raise Forbidden("这不是您的认领 / this claim is someone else's")
    if c.status != "claimed":
        raise Conflict(f"认领 {c.id} 已释放 / claim {c.id} is released already")
    if now >= c.starts_at:
        raise Conflict("项目已开始，不能释放 / the window has started: release a place before it starts")
    c.status, c.released_at = "released", now
    session.flush()
    session.execute(update(ServiceItem).where(ServiceItem.id == item.id).values(claimed=ServiceItem.claimed - 1))
    return c


def _local(t: datetime) -> str:
    """A time as the members read it: Beijing time, to the minute."""
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _distance_m(session: Session, item: ServiceItem, lon: float, lat: float) -> float:
    d = session.scalar(
        text(f"SELECT ST_Distance(geom::geography, {POINT_SQL}::geography) FROM service_items WHERE id = :i"),
        {"i": item.id, "lon": lon, "lat": lat},
    )
    return round(float(d or 0.0), 1)


def _on_site(session: Session, item: ServiceItem, fix: Fix, what: str) -> float:
    """The distance (m) from `fix` to the item's place, refused beyond the radius or with a poor accuracy."""
    cfg = load_config().sign_in
    accuracy_m = fix.accuracy_m
    if accuracy_m is not None and accuracy_m > cfg.max_accuracy_m:
        raise InvalidInput(
            f"定位精度不足（±{accuracy_m:.0f} 米）/ the position is too inaccurate (±{accuracy_m:.0f} m, "
            f"at most {cfg.max_accuracy_m:.0f} m): wait for GPS and try again"
        )
    x, y = to_wgs84(fix.lon, fix.lat, fix.crs)
    d = _distance_m(session, item, x, y)
    if d > cfg.radius_m:
        raise InvalidInput(
            f"距离服务地点 {d:.0f} 米，超出 {cfg.radius_m:.0f} 米 / {what} refused: you are {d:.0f} m from "
            f"{item.place_name or 'the place'}, farther than {cfg.radius_m:.0f} m",
            detail={"distance_m": d, "radius_m": cfg.radius_m},
        )
    return d


def _own(session: Session, user: User, claim_id: int) -> tuple[Claim, ServiceItem]:
    c, item, member = _claim(session, claim_id)
    if member.user_id != user.id:
        raise Forbidden("只能本人签到签退 / only the member who holds the claim signs in and out")
    if c.status != "claimed":
        raise Conflict(f"认领 {c.id} 已释放 / claim {c.id} is released")
    return c, item


def sign_in(session: Session, user: User, claim_id: int, fix: Fix, *, now: datetime | None = None) -> Claim:
    """Sign in on site: within the radius of the place and from `early_minutes` before the window to its end."""
    now = now or utcnow()
    c, item = _own(session, user, claim_id)
    if c.signed_in_at is not None:
        return c
    early = timedelta(minutes=load_config().sign_in.early_minutes)
    if not item.starts_at - early <= now < item.ends_at:
        raise InvalidInput(
            f"不在服务时段内 / outside the window: sign in from {_local(item.starts_at - early)} until "
            f"{_local(item.ends_at)} (Beijing time)",
            detail={"starts_at": item.starts_at.isoformat(), "ends_at": item.ends_at.isoformat()},
        )
    c.signed_in_m = _on_site(session, item, fix, "sign-in")
    c.signed_in_at = now
    session.flush()
    return c


def sign_out(session: Session, user: User, claim_id: int, fix: Fix, *, now: datetime | None = None) -> Claim:
    """Sign out on site; the minutes on site within the window are recorded (to be confirmed by the community)."""
    now = now or utcnow()
    c, item = _own(session, user, claim_id)
    if c.signed_in_at is None:
        raise Conflict("请先签到 / sign in first")
    if c.signed_out_at is not None:
        return c
    late = timedelta(minutes=load_config().sign_in.late_minutes)
    if now > item.ends_at + late:
        raise InvalidInput(
            f"签退已超时 / sign-out closed at {_local(item.ends_at + late)} (Beijing time): ask the community "
            "to confirm your hours"
        )
    c.signed_out_m = _on_site(session, item, fix, "sign-out")
    c.signed_out_at = now
    start, end = max(c.signed_in_at, item.starts_at), min(now, item.ends_at)
    c.minutes = round(max(0.0, (end - start).total_seconds() / 60), 1)
    session.flush()
    return c


def confirm_hours(session: Session, user: User, claim_id: int, *, minutes: float | None = None) -> Claim:
    """The community confirms a claim's hours (the signed minutes, or the minutes it states); credits the
    member's points when the community has a `volunteer_hour` rule."""
    c, item, member = _claim(session, claim_id)
    access.require_community(session, user, item.community_code)
    if c.status != "claimed":
        raise Conflict(f"认领 {c.id} 已释放 / claim {c.id} is released")
    if c.confirmed_at is not None:
        raise Conflict(f"认领 {c.id} 的时长已确认 / the hours of claim {c.id} are confirmed already")
    if minutes is None:
        if c.minutes is None:
            raise Conflict("尚未签到签退：请填写确认的分钟数 / not signed in and out: state the minutes to confirm")
        minutes = c.minutes
    window = (item.ends_at - item.starts_at).total_seconds() / 60
    if not 0 <= minutes <= window:
        raise InvalidInput(f"确认时长须在 0–{window:.0f} 分钟 / confirmed minutes must be within 0–{window:.0f}")
    c.confirmed_minutes, c.confirmed_by_id, c.confirmed_at = round(minutes, 1), user.id, utcnow()
    session.flush()
    policy = load_config().points_for(item.community_code)
    rule = policy.rules.get("volunteer_hour")
    if rule is not None and minutes > 0:
        points = round(minutes / 60 * rule.points_per_unit)
        if points > 0:
            ledger.append(
                session,
                community=item.community_code,
                user_id=member.user_id,
                kind="earn",
                rule=rule.code,
                quantity=round(minutes / 60, 3),
                points=points,
                ref=f"claim:{c.id}",
                note=item.title[:200],
                recorded_by_id=user.id,
            )
    return c
