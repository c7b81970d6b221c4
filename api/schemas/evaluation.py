"""Evaluation shapes: KPI figures with the links to their tickets, breakdowns, the 红黑榜, 议事协商."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import LocalDatetime

UnitKind = Literal["cell", "compound", "community", "street", "department", "property", "worker"]
Figure = int | float | None


class UnitPublic(BaseModel):
    kind: str
    code: str
    name: str
    label: str


class PeriodPublic(BaseModel):
    first: str = Field(alias="from")
    last: str = Field(alias="to")

    model_config = {"populate_by_name": True}


class TierRow(BaseModel):
    tier: str
    label: str
    received: int
    solved: int
    on_time: int
    on_time_rate: float | None


class KpiPublic(BaseModel):
    unit: UnitPublic
    period: dict[str, str]
    figures: dict[str, Figure]
    labels: dict[str, str]
    links: dict[str, str] = Field(description="figure → URL of the tickets it counts (rates: their numerator)")
    by_tier: list[TierRow]
    patrol: dict[str, Figure] | None
    patrol_labels: dict[str, str]
    patrol_links: dict[str, str] = Field(
        default_factory=dict, description="patrol figure → URL of the rows it counts (rates: their numerator)"
    )


class BreakdownRow(BaseModel):
    key: str | int | None
    name: str | None = None
    figures: dict[str, Figure]


class BreakdownPublic(BaseModel):
    unit: UnitPublic
    by: str
    labels: dict[str, str]
    rows: list[BreakdownRow]


class KpiTicket(BaseModel):
    id: int
    category: str
    channel: str
    tier: str
    state: str
    cell_code: str
    compound_code: str | None
    community_code: str | None
    unit_name: str | None
    opened_at: datetime
    resolved_at: datetime | None
    handling_hours: float | None
    stars: int | None


class KpiTicketPage(BaseModel):
    kpi: str
    label: str
    numberMatched: int
    items: list[KpiTicket]


class KpiPatrolPage(BaseModel):
    kpi: str
    label: str
    numberMatched: int = Field(description="as many as the figure")
    items: list[dict[str, str | int | float | bool | None]] = Field(
        description="定岗: day, worker_id, worker, worker_name, compound_code, compound_name, minutes, "
        "required_minutes, met; coverage: compound_code, compound_name, visited; 四必到: household_id, cell_code, "
        "compound_code, building, unit, kind, every_days, visit_no, visits_needed, visits_done, visited"
    )


class RankedRow(BaseModel):
    organization_id: int
    code: str
    name: str
    received: int
    score: float | None
    rank: int | None
    tied: bool = False
    list: str = ""
    note: str
    terms: dict[str, float | None]
    kpis: dict[str, Any] | None


class WeightPublic(BaseModel):
    term: str
    label: str
    weight: float


class TiePublic(BaseModel):
    rank: int
    names: list[str]


class RankingPublic(BaseModel):
    kind: str
    label: str
    period: dict[str, str]
    street: str | None
    rule: str
    weights: list[WeightPublic]
    tie_rule: str
    ties: list[TiePublic]
    ranked: list[RankedRow]
    red: list[int]
    black: list[int]
    too_few: list[RankedRow]


class MeetingCreate(BaseModel):
    held_at: LocalDatetime
    place: str | None = Field(default=None, max_length=120)
    attendance: int = Field(ge=0, le=100_000)
    agree: int = Field(ge=0, le=100_000)
    disagree: int = Field(default=0, ge=0, le=100_000)
    abstain: int = Field(default=0, ge=0, le=100_000)
    minutes: str | None = Field(default=None, max_length=20_000)
    photo_ids: list[int] = Field(default_factory=list, max_length=30)


class MeetingPublic(BaseModel):
    id: int
    round: int
    held_at: datetime
    place: str | None
    attendance: int
    agree: int
    disagree: int
    abstain: int
    agreement_rate: float | None
    minutes: str | None
    photo_ids: list[int]


class TopicCreate(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=20_000)
    ticket_ids: list[int] = Field(default_factory=list, max_length=200)


class TopicUpdate(BaseModel):
    status: Literal["open", "agreed", "rejected", "shelved"] | None = None
    outcome: str | None = Field(default=None, max_length=20_000)
    ticket_ids: list[int] | None = Field(default=None, max_length=200)


class TopicPublic(BaseModel):
    id: int
    compound_code: str
    compound_name: str | None
    title: str
    description: str | None
    status: str
    outcome: str | None
    created_at: datetime
    ticket_ids: list[int]
    meetings: list[MeetingPublic]
    rounds: int
    first_agreement_rate: float | None
    last_agreement_rate: float | None


class ReportPublic(BaseModel):
    kind: str
    title: str
    street: dict[str, str]
    period: dict[str, str]
    generated_at: str
    stored: bool = Field(description="true: the report as written (and circulated); false: built now")
    figures: dict[str, Figure]
    previous_figures: dict[str, Figure]
    labels: dict[str, str]
    communities: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    rankings: dict[str, RankingPublic]
    worst_cells: list[dict[str, Any]]
    consultations: list[dict[str, Any]]
    map_svg: str
