"""业委会 / 物管会 / 物业服务监督员 per compound, the 监督员's monthly rating of their compound's property company on
fixed items (config), and the monthly score per property company that the 红黑榜 (evaluation) reads."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput, NotFound
from gis.models import Compound, User
from gis.participation import access
from gis.participation.config import load_config
from gis.participation.models import BODIES, CompoundRole, PropertyRating

BODY_LABELS = {"owners_committee": "业主委员会", "property_committee": "物业管理委员会", "supervisor": "物业服务监督员"}


def first_of_month(d: date) -> date:
    return d.replace(day=1)


def _compound(session: Session, code: str) -> Compound:
    row = session.scalar(select(Compound).where(Compound.code == code))
    if row is None:
        raise NotFound(f"没有小区 {code} / no compound {code}")
    return row


def _community_of(session: Session, compound: Compound) -> str:
    from gis.models import AdminArea

    code = session.scalar(select(AdminArea.code).where(AdminArea.id == compound.community_id))
    return code or ""


def appoint(
    session: Session, user: User, compound_code: str, *, user_id: int, body: str, since: date, title: str | None = None
) -> CompoundRole:
    """The community records a member of a compound's 业委会 / 物管会, or a 物业服务监督员."""
    compound = _compound(session, compound_code)
    access.require_community(session, user, _community_of(session, compound))
    if body not in BODIES:
        raise InvalidInput(f"body is one of {', '.join(BODIES)}")
    if session.get(User, user_id) is None:
        raise NotFound(f"没有用户 {user_id} / no user {user_id}")
    existing = session.scalar(
        select(CompoundRole).where(
            CompoundRole.compound_code == compound_code, CompoundRole.user_id == user_id, CompoundRole.body == body
        )
    )
    if existing is not None:
        existing.title, existing.since, existing.until = title, since, None
        session.flush()
        return existing
    role = CompoundRole(compound_code=compound_code, user_id=user_id, body=body, title=title, since=since)
    session.add(role)
    session.flush()
    return role


def bodies(session: Session, user: User, compound_code: str) -> list[dict[str, Any]]:
    """Who sits on a compound's bodies (names and titles; the community and the compound's own members read it)."""
    compound = _compound(session, compound_code)
    own = session.scalar(
        select(CompoundRole.id).where(CompoundRole.compound_code == compound_code, CompoundRole.user_id == user.id)
    )
    community_reader = user.role in access.COMMUNITY_ROLES and access.in_scope(
        session, user, _community_of(session, compound)
    )
    if own is None and not community_reader:
        raise Forbidden(
            "只有社区和本小区的业委会、物管会、监督员能查看 / only the community and the compound's bodies read this"
        )
    rows = session.execute(
        select(CompoundRole, User.full_name)
        .join(User, User.id == CompoundRole.user_id)
        .where(CompoundRole.compound_code == compound_code)
        .order_by(CompoundRole.body, CompoundRole.id)
    ).tuples()
    return [
        {
            "id": r.id,
            "compound_code": r.compound_code,
            "user_id": r.user_id,
            "name": name,
            "body": r.body,
            "body_label": BODY_LABELS[r.body],
            "title": r.title,
            "since": r.since,
            "until": r.until,
        }
        for r, name in rows
    ]


def is_supervisor(session: Session, user: User, compound_code: str, month: date) -> bool:
    """`user` is a 物业服务监督员 of the compound during `month`."""
    end = month.replace(year=month.year + (month.month == 12), month=month.month % 12 + 1)
    return (
        session.scalar(
            select(CompoundRole.id).where(
                CompoundRole.compound_code == compound_code,
                CompoundRole.user_id == user.id,
                CompoundRole.body == "supervisor",
                CompoundRole.since < end,
                or_(CompoundRole.until.is_(None), CompoundRole.until >= month),
            )
        )
        is not None
    )


def rate(
    session: Session,
    user: User,
    *,
    compound_code: str,
    month: date,
    scores: dict[str, int],
    comment: str | None = None,
    today: date,
) -> PropertyRating:
    """A 监督员 rates the compound's property company for a month (once a month, each fixed item 1–5)."""
    month = first_of_month(month)
    compound = _compound(session, compound_code)
    if not is_supervisor(session, user, compound_code, month):
        raise Forbidden(
            f"您不是小区 {compound.name}（{compound_code}）的物业服务监督员 / only a 物业服务监督员 of compound "
            f"{compound_code} rates its property company; ask the community to appoint you"
        )
    if month > first_of_month(today):
        raise InvalidInput("不能为未来的月份评分 / rate the current or a past month")
    if compound.property_company_id is None:
        raise Conflict(f"小区 {compound_code} 没有物业公司 / compound {compound_code} has no property company to rate")
    load_config().check_scores(scores)
    done = session.scalar(
        select(PropertyRating.id).where(
            PropertyRating.compound_code == compound_code,
            PropertyRating.rater_id == user.id,
            PropertyRating.month == month,
        )
    )
    if done is not None:
        raise Conflict(f"您已为 {month:%Y-%m} 评分 / you rated {month:%Y-%m} already (rating {done})")
    rating = PropertyRating(
        compound_code=compound_code,
        organization_id=compound.property_company_id,
        rater_id=user.id,
        month=month,
        scores=dict(scores),
        score=round(sum(scores.values()) / len(scores), 3),
        comment=comment,
    )
    session.add(rating)
    session.flush()
    return rating


def property_scores(session: Session, month: date, organization_ids: list[int] | None = None) -> dict[int, float]:
    """The mean monthly 监督员 score per property company, on 0–100 (the 1–5 item mean × 20): the 红黑榜 term.
    Companies nobody rated that month are absent."""
    stmt = (
        select(PropertyRating.organization_id, func.avg(PropertyRating.score))
        .where(PropertyRating.month == first_of_month(month))
        .group_by(PropertyRating.organization_id)
    )
    if organization_ids is not None:
        stmt = stmt.where(PropertyRating.organization_id.in_(organization_ids))
    return {org: round(float(mean) * 20, 2) for org, mean in session.execute(stmt).tuples()}


def list_ratings(session: Session, user: User, *, month: date, community: str | None = None) -> list[dict[str, Any]]:
    """A month's ratings: a community's (manager), all (admin), the company's own (property), the rater's own."""
    stmt = select(PropertyRating).where(PropertyRating.month == first_of_month(month))
    if user.role == "admin":
        if community is not None:
            stmt = stmt.where(PropertyRating.compound_code.startswith(community))
    elif user.role == "manager":
        codes = access.scope(session, user) or []
        if community is not None:
            access.require_community(session, user, community)
            codes = [community]
        stmt = stmt.where(or_(*(PropertyRating.compound_code.startswith(c) for c in codes)) if codes else false())
    elif user.role == "property":
        stmt = stmt.where(PropertyRating.organization_id == user.organization_id)
    else:
        stmt = stmt.where(PropertyRating.rater_id == user.id)
    rows = session.scalars(stmt.order_by(PropertyRating.compound_code, PropertyRating.id))
    return [
        {
            "id": r.id,
            "compound_code": r.compound_code,
            "organization_id": r.organization_id,
            "month": r.month,
            "scores": r.scores,
            "score": r.score,
            "comment": r.comment,
            "rater_id": r.rater_id if user.role in ("admin", "manager") or r.rater_id == user.id else None,
        }
        for r in rows
    ]
