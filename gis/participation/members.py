"""双报到 and volunteers: registration (one profile per user), confirmation by the home community, teams with
leaders, and the hours and tasks of a member as they and their community read them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.access import mask_phone
from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.participation import access
from gis.participation.models import Claim, Member, ServiceItem, Team, TeamMember
from gis.tickets.sla import SHANGHAI


def month_start(t: datetime) -> datetime:
    """00:00 (Asia/Shanghai) of the first day of the month `t` falls in."""
    local = t.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def register(
    session: Session,
    user: User,
    *,
    kind: str,
    name: str,
    phone: str,
    community_code: str,
    work_unit: str | None = None,
    skills: list[str] | None = None,
) -> Member:
    """A user registers as a party member (双报到) or volunteer with their home community: pending until confirmed."""
    existing = access.member_of(session, user)
    if existing is not None:
        raise Conflict(
            f"您已登记（状态：{existing.status}）/ "
            f"you are registered already (member {existing.id}, {existing.status})",
            detail={"member_id": existing.id, "status": existing.status},
        )
    access.community_name(session, community_code)
    if kind == "party_member" and not (work_unit or "").strip():
        raise InvalidInput(
            "在职党员双报到须填写工作单位 / a party member registering (双报到) names their working unit"
        )
    member = Member(
        user_id=user.id,
        kind=kind,
        name=name.strip(),
        phone=phone.strip(),
        community_code=community_code,
        work_unit=(work_unit or "").strip() or None,
        skills=sorted({s.strip() for s in skills or [] if s.strip()}),
    )
    session.add(member)
    session.flush()
    return member


def confirm(session: Session, user: User, member_id: int, *, accept: bool, note: str | None = None) -> Member:
    """The home community confirms (or turns down) a registration."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"没有成员 {member_id} / no member {member_id}")
    access.require_community(session, user, member.community_code)
    member.status = "confirmed" if accept else "rejected"
    member.note = note
    member.confirmed_by_id = user.id
    member.confirmed_at = utcnow()
    session.flush()
    return member


def _minutes(session: Session, member_ids: list[int], since: datetime | None = None) -> dict[int, float]:
    stmt = select(Claim.member_id, func.coalesce(func.sum(Claim.confirmed_minutes), 0.0)).where(
        Claim.member_id.in_(member_ids), Claim.confirmed_minutes.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(Claim.starts_at >= since)
    return {mid: float(m or 0.0) for mid, m in session.execute(stmt.group_by(Claim.member_id)).tuples()}


def member_public(
    session: Session, member: Member, *, full: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """A member with their confirmed hours (all time and this month) and task counts; `full=False` masks the phone."""
    since = month_start(now or utcnow())
    total = _minutes(session, [member.id]).get(member.id, 0.0)
    month = _minutes(session, [member.id], since).get(member.id, 0.0)
    tasks = session.scalar(select(func.count()).where(Claim.member_id == member.id, Claim.status == "claimed")) or 0
    return {
        "id": member.id,
        "user_id": member.user_id,
        "kind": member.kind,
        "name": member.name,
        "phone": member.phone if full else mask_phone(member.phone),
        "community_code": member.community_code,
        "work_unit": member.work_unit,
        "skills": list(member.skills or []),
        "status": member.status,
        "hours_total": round(total / 60, 2),
        "hours_month": round(month / 60, 2),
        "tasks": int(tasks),
    }


def list_members(
    session: Session,
    user: User,
    *,
    community: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The members of the communities `user` answers for (a manager: theirs; an admin: any)."""
    if user.role not in access.COMMUNITY_ROLES:
        raise Forbidden("只有社区能查看成员名册 / only a community (manager) or an admin reads the members")
    stmt = select(Member).where(access.community_filter(session, user, Member.community_code, community))
    if status is not None:
        stmt = stmt.where(Member.status == status)
    rows = session.scalars(stmt.order_by(Member.id).limit(limit).offset(offset))
    return [member_public(session, m) for m in rows]


def my_tasks(session: Session, member: Member) -> list[dict[str, Any]]:
    """A member's claims, newest window first, with the item each is for."""
    rows = session.execute(
        select(Claim, ServiceItem)
        .join(ServiceItem, ServiceItem.id == Claim.item_id)
        .where(Claim.member_id == member.id)
        .order_by(Claim.starts_at.desc())
        .limit(200)
    ).tuples()
    return [claim_public(c, i) for c, i in rows]


def list_claims(
    session: Session,
    user: User,
    *,
    community: str | None = None,
    item_id: int | None = None,
    to_confirm: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The claims on a community's items (its manager; admins any), newest window first, with each member's name;
    `to_confirm`: signed out (or over) and not yet confirmed — the community's to-do list of hours."""
    if user.role not in access.COMMUNITY_ROLES:
        raise Forbidden("只有社区能查看认领名单 / only a community (manager) or an admin reads the claims")
    stmt = (
        select(Claim, ServiceItem, Member.name)
        .join(ServiceItem, ServiceItem.id == Claim.item_id)
        .join(Member, Member.id == Claim.member_id)
        .where(access.community_filter(session, user, ServiceItem.community_code, community))
    )
    if item_id is not None:
        stmt = stmt.where(Claim.item_id == item_id)
    if to_confirm:
        stmt = stmt.where(Claim.status == "claimed", Claim.confirmed_at.is_(None), Claim.starts_at < utcnow())
    rows = session.execute(stmt.order_by(Claim.starts_at.desc(), Claim.id).limit(limit).offset(offset)).tuples()
    return [{**claim_public(c, i), "member_name": name} for c, i, name in rows]


def claim_public(c: Claim, item: ServiceItem) -> dict[str, Any]:
    return {
        "id": c.id,
        "item_id": item.id,
        "title": item.title,
        "kind": item.kind,
        "place_name": item.place_name,
        "community_code": item.community_code,
        "member_id": c.member_id,
        "team_id": c.team_id,
        "status": c.status,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "signed_in_at": c.signed_in_at,
        "signed_out_at": c.signed_out_at,
        "signed_in_m": c.signed_in_m,
        "signed_out_m": c.signed_out_m,
        "minutes": c.minutes,
        "confirmed_minutes": c.confirmed_minutes,
        "confirmed_at": c.confirmed_at,
    }


# ---- teams ----


def create_team(
    session: Session, user: User, *, community_code: str, name: str, leader_id: int, member_ids: list[int]
) -> Team:
    """A community forms a volunteer team of its confirmed members, one of them its leader."""
    access.require_community(session, user, community_code)
    ids = sorted({leader_id, *member_ids})
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    missing = sorted(set(ids) - set(members))
    if missing:
        raise NotFound(f"没有成员 {missing} / no member {missing}")
    wrong = sorted(i for i, m in members.items() if m.community_code != community_code or m.status != "confirmed")
    if wrong:
        raise InvalidInput(
            f"成员 {wrong} 不是本社区已确认的成员 / members {wrong} are not confirmed members of {community_code}"
        )
    if session.scalar(select(Team.id).where(Team.community_code == community_code, Team.name == name)) is not None:
        raise Conflict(f"本社区已有队伍“{name}” / {community_code} has a team named {name!r} already")
    team = Team(community_code=community_code, name=name.strip(), leader_id=leader_id)
    session.add(team)
    session.flush()
    session.add_all([TeamMember(team_id=team.id, member_id=i) for i in ids])
    session.flush()
    return team


def team_member_ids(session: Session, team_id: int) -> list[int]:
    return list(session.scalars(select(TeamMember.member_id).where(TeamMember.team_id == team_id)))


def team_public(session: Session, team: Team, *, roster: bool) -> dict[str, Any]:
    ids = team_member_ids(session, team.id)
    out: dict[str, Any] = {
        "id": team.id,
        "community_code": team.community_code,
        "name": team.name,
        "leader_id": team.leader_id,
        "size": len(ids),
    }
    if roster:
        members = session.scalars(select(Member).where(Member.id.in_(ids)).order_by(Member.id))
        out["members"] = [member_public(session, m) for m in members]
    return out


def list_teams(session: Session, user: User, *, community: str | None = None) -> list[dict[str, Any]]:
    """Teams `user` may read: a community's (manager, admin), else the teams the member belongs to."""
    stmt = select(Team).order_by(Team.id)
    if user.role in access.COMMUNITY_ROLES:
        stmt = stmt.where(access.community_filter(session, user, Team.community_code, community))
    else:
        member = access.member_of(session, user)
        if member is None:
            return []
        stmt = stmt.join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.member_id == member.id)
    return [team_public(session, t, roster=False) for t in session.scalars(stmt)]


def read_team(session: Session, user: User, team_id: int) -> dict[str, Any]:
    """A team with its roster and each member's hours: its leader, its community, an admin."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"没有队伍 {team_id} / no team {team_id}")
    member = access.member_of(session, user)
    is_leader = member is not None and member.id == team.leader_id
    community_reader = user.role in access.COMMUNITY_ROLES and access.in_scope(session, user, team.community_code)
    if not is_leader and not community_reader:
        raise Forbidden("只有队长和所在社区能查看队伍名册 / only the team's leader and its community read its roster")
    return team_public(session, team, roster=True)
