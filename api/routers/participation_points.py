"""Participation endpoints (V3–V4): the 积分 ledger (rules, entries, my history, balances, chain verification),
exchange goods and redemptions, compound bodies (业委会 / 物管会 / 监督员), 监督员 ratings of property companies
and their monthly scores, 联席会议 records. Thin: parse, call gis.participation, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from api.deps import CurrentUser, PageQuery, SessionDep
from api.schemas.common import error_responses
from api.schemas.participation import (
    BalanceRow,
    BodyCreate,
    BodyPublic,
    ChainCheck,
    GoodsCreate,
    GoodsPublic,
    MeetingCreate,
    MeetingPublic,
    PointsEarn,
    PointsEntryPublic,
    PointsHistory,
    RatingCreate,
    RatingPublic,
    Redemption,
    RulesPublic,
)
from gis.auth import require_role
from gis.models import utcnow
from gis.participation import access, ledger, meetings, ratings
from gis.tickets.sla import SHANGHAI

router = APIRouter(
    prefix="/v1/participation", tags=["participation"], responses=error_responses(401, 403, 404, 409, 422)
)

CommunityParam = Annotated[str, Query(max_length=20, description="community code")]
CommunityQuery = Annotated[str | None, Query(max_length=20, description="community code")]
MonthQuery = Annotated[date, Query(description="any day of the month (YYYY-MM-DD)")]


def _today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


# ---- 积分 ledger ----


@router.get("/points/rules", response_model=RulesPublic)
def points_rules(session: SessionDep, community: CommunityParam) -> Any:
    """A community's 积分 rules and exchange day (public)."""
    access.community_name(session, community)
    return ledger.rules(community)


@router.post("/points/entries", response_model=PointsEntryPublic, status_code=status.HTTP_201_CREATED)
def earn_points(session: SessionDep, user: CurrentUser, body: PointsEarn) -> Any:
    """Record points a resident earned under one of the community's rules (e.g. kg of sorted recyclables)."""
    entry = ledger.earn(
        session,
        user,
        community=body.community_code,
        resident_id=body.user_id,
        rule=body.rule,
        quantity=body.quantity,
        note=body.note,
    )
    return ledger.entry_public(entry)


@router.get("/points", response_model=PointsHistory)
def points_history(
    session: SessionDep,
    user: CurrentUser,
    page: PageQuery,
    community: CommunityQuery = None,
    user_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="a resident (the community's staff); default: me")
    ] = None,
) -> Any:
    """My balances and history (newest first); a community's staff may read one of its residents'."""
    return ledger.history(session, user, resident_id=user_id, community=community, limit=page.limit, offset=page.offset)


@router.get("/points/balances", response_model=list[BalanceRow])
def points_balances(session: SessionDep, user: CurrentUser, page: PageQuery, community: CommunityParam) -> Any:
    """Every resident's balance in a community (its manager and grid workers)."""
    return ledger.balances(session, user, community, limit=page.limit, offset=page.offset)


@router.get("/points/verify", response_model=ChainCheck)
def verify_chain(session: SessionDep, user: CurrentUser, community: CommunityQuery = None) -> Any:
    """Walk the hash chain and report the first broken link (admins: every community)."""
    ledger.require_verifier(session, user, community)
    return ledger.verify(session, community=community)


@router.get("/goods", response_model=GoodsPublic)
def list_goods(session: SessionDep, community: CommunityParam) -> Any:
    """What a community offers on its exchange day, with prices and stock (public)."""
    return ledger.list_goods(session, community)


@router.post("/goods", response_model=GoodsPublic, status_code=status.HTTP_201_CREATED)
def add_goods(session: SessionDep, user: CurrentUser, body: GoodsCreate) -> Any:
    """Offer goods (or restock them) for the exchange day."""
    ledger.add_goods(
        session, user, community=body.community_code, name=body.name, points_cost=body.points_cost, stock=body.stock
    )
    return ledger.list_goods(session, body.community_code)


@router.post("/redemptions", response_model=PointsEntryPublic, status_code=status.HTTP_201_CREATED)
def redeem(session: SessionDep, user: CurrentUser, body: Redemption) -> Any:
    """Exchange a resident's points for goods on the exchange day: never beyond the balance or the stock."""
    entry = ledger.redeem(
        session,
        user,
        community=body.community_code,
        resident_id=body.user_id,
        goods_id=body.goods_id,
        quantity=body.quantity,
        today=_today(),
    )
    return ledger.entry_public(entry)


# ---- 业委会 / 物管会 / 监督员 ----


@router.post("/compounds/{code}/bodies", response_model=BodyPublic, status_code=status.HTTP_201_CREATED)
def appoint(session: SessionDep, user: CurrentUser, code: str, body: BodyCreate) -> Any:
    """Record a member of a compound's 业委会 / 物管会, or a 物业服务监督员 (the community)."""
    role = ratings.appoint(session, user, code, **body.model_dump())
    return next(r for r in ratings.bodies(session, user, code) if r["id"] == role.id)


@router.get("/compounds/{code}/bodies", response_model=list[BodyPublic])
def list_bodies(session: SessionDep, user: CurrentUser, code: str) -> Any:
    """A compound's 业委会, 物管会 and 监督员 (the community, and the members of those bodies)."""
    return ratings.bodies(session, user, code)


@router.post("/ratings", response_model=RatingPublic, status_code=status.HTTP_201_CREATED)
def rate_property(session: SessionDep, user: CurrentUser, body: RatingCreate) -> Any:
    """A 物业服务监督员 rates the compound's property company for a month, each fixed item 1–5."""
    r = ratings.rate(
        session,
        user,
        compound_code=body.compound_code,
        month=body.month,
        scores=body.scores,
        comment=body.comment,
        today=_today(),
    )
    return next(x for x in ratings.list_ratings(session, user, month=r.month) if x["id"] == r.id)


@router.get("/ratings", response_model=list[RatingPublic])
def list_ratings(session: SessionDep, user: CurrentUser, month: MonthQuery, community: CommunityQuery = None) -> Any:
    """A month's ratings: a community's (manager), all (admin), the company's own (property), my own."""
    return ratings.list_ratings(session, user, month=month, community=community)


@router.get("/property-scores", response_model=dict[int, float])
def property_scores(session: SessionDep, user: CurrentUser, month: MonthQuery) -> Any:
    """Mean monthly 监督员 score per property company (0–100): the 红黑榜 term."""
    require_role(user, "admin", "planner", "manager")
    return ratings.property_scores(session, month)


# ---- 联席会议 ----


@router.post("/meetings", response_model=MeetingPublic, status_code=status.HTTP_201_CREATED)
def record_meeting(session: SessionDep, user: CurrentUser, body: MeetingCreate) -> Any:
    """Record a 物业管理联席会议: date, attendees, decisions and the tickets each decides."""
    data = body.model_dump()
    m = meetings.record(session, user, **data)
    return meetings.meeting_public(session, m)


@router.get("/meetings", response_model=list[MeetingPublic])
def list_meetings(
    session: SessionDep,
    user: CurrentUser,
    community: CommunityQuery = None,
    ticket_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="the meetings that decided this ticket")
    ] = None,
) -> Any:
    """The 联席会议 of my communities, newest first."""
    return meetings.list_meetings(session, user, community=community, ticket_id=ticket_id)
