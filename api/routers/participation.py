"""Participation endpoints (V1–V2): members (双报到, volunteers) and their confirmation, teams, service items
(published by a community, public to read, near me), claims with on-site sign-in and sign-out, hours confirmed,
tickets handed to a team. Thin: parse, call gis.participation, shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from api.deps import CurrentUser, NearQuery, PageQuery, SessionDep
from api.schemas.common import error_responses
from api.schemas.participation import (
    ClaimCreate,
    ClaimPublic,
    HoursConfirm,
    ItemCreate,
    ItemPublic,
    MemberCreate,
    MemberDecision,
    MemberPublic,
    MePublic,
    ParticipationSummary,
    Position,
    TeamCreate,
    TeamPublic,
    TicketHandover,
)
from gis.participation import access, claims, items, members, summary
from gis.participation.models import Claim, ServiceItem

router = APIRouter(
    prefix="/v1/participation", tags=["participation"], responses=error_responses(401, 403, 404, 409, 422)
)

IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
CommunityQuery = Annotated[str | None, Query(max_length=20, description="community code")]


def _claim_out(session: SessionDep, c: Claim) -> dict[str, Any]:
    item = session.get(ServiceItem, c.item_id)
    if item is None:  # the claim's item is its foreign key: always there
        raise RuntimeError(f"claim {c.id} without its item")
    return members.claim_public(c, item)


# ---- members (双报到) ----


@router.post("/members", response_model=MemberPublic, status_code=status.HTTP_201_CREATED)
def register_member(session: SessionDep, user: CurrentUser, body: MemberCreate) -> Any:
    """Register myself as a party member (双报到) or volunteer with my home community (pending until confirmed)."""
    member = members.register(session, user, **body.model_dump())
    return members.member_public(session, member)


@router.get("/me", response_model=MePublic)
def my_participation(session: SessionDep, user: CurrentUser) -> Any:
    """My member profile with my hours (all time, this month) and my claims."""
    member = access.member_of(session, user)
    if member is None:
        return {"member": None, "claims": []}
    return {"member": members.member_public(session, member), "claims": members.my_tasks(session, member)}


@router.get("/members", response_model=list[MemberPublic])
def list_members(
    session: SessionDep,
    user: CurrentUser,
    page: PageQuery,
    community: CommunityQuery = None,
    status: Annotated[str | None, Query(pattern="^(pending|confirmed|rejected)$")] = None,
) -> Any:
    """The members of my communities (a community's manager; admins any), with their hours."""
    return members.list_members(session, user, community=community, status=status, limit=page.limit, offset=page.offset)


@router.post("/members/{member_id}/decision", response_model=MemberPublic)
def decide_member(session: SessionDep, user: CurrentUser, member_id: IdPath, body: MemberDecision) -> Any:
    """The home community confirms (or turns down) a registration."""
    member = members.confirm(session, user, member_id, accept=body.decision == "confirm", note=body.note)
    return members.member_public(session, member)


# ---- teams ----


@router.post("/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED)
def create_team(session: SessionDep, user: CurrentUser, body: TeamCreate) -> Any:
    """A community forms a volunteer team of its confirmed members, with a leader."""
    team = members.create_team(session, user, **body.model_dump())
    return members.team_public(session, team, roster=True)


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(session: SessionDep, user: CurrentUser, community: CommunityQuery = None) -> Any:
    """A community's teams (manager, admin), or the teams I belong to."""
    return members.list_teams(session, user, community=community)


@router.get("/teams/{team_id}", response_model=TeamPublic)
def read_team(session: SessionDep, user: CurrentUser, team_id: IdPath) -> Any:
    """A team's roster with each member's hours: its leader and its community."""
    return members.read_team(session, user, team_id)


# ---- service items ----


@router.post("/items", response_model=ItemPublic, status_code=status.HTTP_201_CREATED)
def publish_item(session: SessionDep, user: CurrentUser, body: ItemCreate) -> Any:
    """A community publishes a service item: a place (point, compound or cell), a window, a capacity, skills."""
    data = body.model_dump(exclude={"place"})
    item = items.publish(session, user, place=items.Place(**body.place.model_dump()), **data)
    return items.read_item(session, item.id)


@router.get("/items", response_model=list[ItemPublic])
def list_items(
    session: SessionDep,
    page: PageQuery,
    near: NearQuery,
    community: CommunityQuery = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    full: Annotated[bool, Query(description="include items with no place left")] = False,
) -> Any:
    """Published items still to come (public): a community's, or near me (`near=lon,lat[,radius_m]`, nearest first)."""
    where = (near.lon, near.lat, near.radius_m) if near is not None else None
    return items.list_items(
        session, community=community, kind=kind, near=where, include_full=full, limit=page.limit, offset=page.offset
    )


@router.get("/items/{item_id}", response_model=ItemPublic)
def read_item(session: SessionDep, item_id: IdPath) -> Any:
    """One published item (public)."""
    return items.read_item(session, item_id)


@router.post("/items/{item_id}/claims", response_model=list[ClaimPublic], status_code=status.HTTP_201_CREATED)
def claim_item(session: SessionDep, user: CurrentUser, item_id: IdPath, body: ClaimCreate | None = None) -> Any:
    """Claim a place (first come, within capacity, no overlapping claims); a team leader may claim for members."""
    made = claims.claim(session, user, item_id, member_ids=body.member_ids if body else None)
    return [_claim_out(session, c) for c in made]


@router.get("/claims", response_model=list[ClaimPublic])
def list_claims(
    session: SessionDep,
    user: CurrentUser,
    page: PageQuery,
    community: CommunityQuery = None,
    item_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    to_confirm: Annotated[bool, Query(description="only claims whose hours wait for confirmation")] = False,
) -> Any:
    """The claims on my communities' items with the members' names (the community); `to_confirm` for the hours."""
    return members.list_claims(
        session,
        user,
        community=community,
        item_id=item_id,
        to_confirm=to_confirm,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/claims/{claim_id}/release", response_model=ClaimPublic)
def release_claim(session: SessionDep, user: CurrentUser, claim_id: IdPath) -> Any:
    """Give the place back (before the window starts)."""
    return _claim_out(session, claims.release(session, user, claim_id))


@router.post("/claims/{claim_id}/sign-in", response_model=ClaimPublic)
def sign_in(session: SessionDep, user: CurrentUser, claim_id: IdPath, body: Position) -> Any:
    """Sign in on site from the phone: near the place (PostGIS metres, configurable radius) and in the window."""
    c = claims.sign_in(session, user, claim_id, claims.Fix(**body.model_dump()))
    return _claim_out(session, c)


@router.post("/claims/{claim_id}/sign-out", response_model=ClaimPublic)
def sign_out(session: SessionDep, user: CurrentUser, claim_id: IdPath, body: Position) -> Any:
    """Sign out on site: the minutes within the window are recorded, for the community to confirm."""
    c = claims.sign_out(session, user, claim_id, claims.Fix(**body.model_dump()))
    return _claim_out(session, c)


@router.post("/claims/{claim_id}/confirm", response_model=ClaimPublic)
def confirm_hours(session: SessionDep, user: CurrentUser, claim_id: IdPath, body: HoursConfirm | None = None) -> Any:
    """The community confirms the hours (and credits volunteer-hour points where its rules have them)."""
    c = claims.confirm_hours(session, user, claim_id, minutes=body.minutes if body else None)
    return _claim_out(session, c)


@router.post("/tickets/{ticket_id}/handover", response_model=ItemPublic, status_code=status.HTTP_201_CREATED)
def hand_ticket_to_team(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: TicketHandover) -> Any:
    """Hand a ticket of a volunteer-suitable category to a team: an item reserved for it, at the ticket's point."""
    item = items.hand_ticket_to_team(session, user, ticket_id, **body.model_dump())
    return items.read_item(session, item.id)


@router.get("/summary", response_model=ParticipationSummary)
def participation_summary(
    session: SessionDep,
    community: Annotated[str, Query(max_length=20)],
    compound: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """Members, teams, confirmed hours this month and open items of a community or compound (public: counts only)."""
    access.community_name(session, community)
    return summary.participation(session, community=community, compound=compound)
