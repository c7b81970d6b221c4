"""Participation request/response shapes: members and teams (双报到), service items and claims, the 积分 ledger and
exchange goods, compound bodies and 监督员 ratings, 联席会议 records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime

CRS = Literal["wgs84", "gcj02", "bd09", "cgcs2000"]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]  # a row id (an integer column)


# ---- members and teams ----


class MemberCreate(BaseModel):
    kind: Literal["party_member", "volunteer"] = Field(description="party_member: 在职党员双报到; volunteer: 志愿者")
    name: str = Field(min_length=1, max_length=60)
    phone: str = Field(min_length=5, max_length=40)
    community_code: str = Field(min_length=1, max_length=20, description="home community (居住地社区)")
    work_unit: str | None = Field(default=None, max_length=120, description="工作单位 (required for party members)")
    skills: list[str] = Field(default=[], max_length=20)


class MemberDecision(BaseModel):
    decision: Literal["confirm", "reject"]
    note: str | None = Field(default=None, max_length=500)


class MemberPublic(BaseModel):
    id: int
    user_id: int
    kind: str
    name: str
    phone: str | None
    community_code: str
    work_unit: str | None
    skills: list[str]
    status: str
    hours_total: float
    hours_month: float
    tasks: int


class ClaimPublic(BaseModel):
    id: int
    item_id: int
    title: str
    kind: str
    place_name: str | None
    community_code: str
    member_id: int
    team_id: int | None
    status: str
    starts_at: datetime
    ends_at: datetime
    signed_in_at: datetime | None
    signed_out_at: datetime | None
    signed_in_m: float | None
    signed_out_m: float | None
    minutes: float | None
    confirmed_minutes: float | None
    confirmed_at: datetime | None
    member_name: str | None = None  # in the community's lists


class MePublic(BaseModel):
    member: MemberPublic | None
    claims: list[ClaimPublic]


class TeamCreate(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    leader_id: Id
    member_ids: list[Id] = Field(default=[], max_length=500)


class TeamPublic(BaseModel):
    id: int
    community_code: str
    name: str
    leader_id: int
    size: int
    members: list[MemberPublic] | None = None


# ---- service items and claims ----


class PlaceIn(BaseModel):
    kind: Literal["point", "compound", "cell"]
    code: str | None = Field(default=None, max_length=20, description="compound or cell code")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: CRS = "wgs84"
    name: str | None = Field(default=None, max_length=120)


class ItemCreate(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    kind: str = Field(min_length=1, max_length=40, description="a service kind of participation.yaml")
    title: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    place: PlaceIn
    starts_at: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    ends_at: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    capacity: int = Field(ge=1, le=10_000)
    skills: list[str] = Field(default=[], max_length=20)
    team_id: Id | None = None


class ItemPublic(BaseModel):
    id: int
    community_code: str
    kind: str
    kind_label: str
    title: str
    description: str | None
    place_kind: str
    place_code: str | None
    place_name: str | None
    lon: float
    lat: float
    starts_at: datetime
    ends_at: datetime
    capacity: int
    claimed: int
    places_left: int
    skills: list[str]
    status: str
    team_id: int | None
    ticket_id: int | None
    distance_m: float | None = None


class ClaimCreate(BaseModel):
    member_ids: list[Id] | None = Field(
        default=None, max_length=200, description="a team leader claims for members of their team; default: myself"
    )


class Position(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: CRS = "wgs84"
    accuracy_m: float | None = Field(default=None, ge=0, le=1_000_000)


class HoursConfirm(BaseModel):
    minutes: float | None = Field(default=None, ge=0, le=100_000, description="default: the minutes signed on site")


class TicketHandover(BaseModel):
    team_id: Id
    starts_at: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    ends_at: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    title: str | None = Field(default=None, max_length=120)


# ---- points ----


class PointsEarn(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    user_id: Id = Field(description="the resident")
    rule: str = Field(min_length=1, max_length=40)
    quantity: float = Field(gt=0, le=100_000)
    note: str | None = Field(default=None, max_length=200)


class Redemption(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    user_id: Id = Field(description="the resident")
    goods_id: Id
    quantity: int = Field(default=1, ge=1, le=1000)


class PointsEntryPublic(BaseModel):
    id: int
    community_code: str
    seq: int
    user_id: int
    kind: str
    rule: str | None
    quantity: float
    points: int
    ref: str | None
    note: str | None
    created_at: datetime
    hash: str
    prev_hash: str


class PointsHistory(BaseModel):
    user_id: int
    balances: dict[str, int]
    entries: list[PointsEntryPublic]


class BalanceRow(BaseModel):
    user_id: int
    name: str
    balance: int


class BrokenLink(BaseModel):
    id: int
    community_code: str
    seq: int
    reason: str


class ChainCheck(BaseModel):
    ok: bool
    checked: int
    chains: int
    first_broken: BrokenLink | None


class RuleOut(BaseModel):
    code: str
    label: str
    unit: str
    points_per_unit: float


class RulesPublic(BaseModel):
    community_code: str
    exchange_day: int | None
    rules: list[RuleOut]


class GoodsCreate(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    points_cost: int = Field(ge=1, le=1_000_000)
    stock: int = Field(ge=0, le=1_000_000)


class GoodsOut(BaseModel):
    id: int
    name: str
    points_cost: int
    stock: int


class GoodsPublic(BaseModel):
    community_code: str
    exchange_day: int | None
    goods: list[GoodsOut]


# ---- compound bodies, ratings, meetings ----


class BodyCreate(BaseModel):
    user_id: Id
    body: Literal["owners_committee", "property_committee", "supervisor"]
    title: str | None = Field(default=None, max_length=40)
    since: date


class BodyPublic(BaseModel):
    id: int
    compound_code: str
    user_id: int
    name: str
    body: str
    body_label: str
    title: str | None
    since: date
    until: date | None


class RatingCreate(BaseModel):
    compound_code: str = Field(min_length=1, max_length=20)
    month: date = Field(description="any day of the month rated (YYYY-MM-DD)")
    scores: dict[str, int] = Field(description="each fixed item of participation.yaml rated 1–5")
    comment: str | None = Field(default=None, max_length=2000)


class RatingPublic(BaseModel):
    id: int
    compound_code: str
    organization_id: int
    month: date
    scores: dict[str, Any]
    score: float
    comment: str | None
    rater_id: int | None


class AttendeeIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    unit: str | None = Field(default=None, max_length=120)


class DecisionIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    ticket_ids: list[Id] = Field(default=[], max_length=200)


class MeetingCreate(BaseModel):
    community_code: str = Field(min_length=1, max_length=20)
    compound_code: str | None = Field(default=None, max_length=20)
    held_on: date
    title: str = Field(min_length=1, max_length=120)
    attendees: list[AttendeeIn] = Field(max_length=200)
    decisions: list[DecisionIn] = Field(default=[], max_length=200)


class MeetingTicketOut(BaseModel):
    ticket_id: int
    decision: str


class MeetingPublic(BaseModel):
    id: int
    community_code: str
    compound_code: str | None
    held_on: date
    title: str
    attendees: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    tickets: list[MeetingTicketOut]


class ParticipationSummary(BaseModel):
    community_code: str
    compound_code: str | None
    members: int
    teams: int
    hours_month: float
    open_items: int
