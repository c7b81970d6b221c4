"""Patrol request/response shapes: the contract the /field app and the patrol map are built on."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime

CRS = Literal["wgs84", "gcj02", "bd09", "cgcs2000"]


class WorkerRef(BaseModel):
    id: int
    full_name: str
    username: str


class AssignmentPublic(BaseModel):
    compound_code: str
    compound_name: str
    workers: list[WorkerRef]
    workers_min: int
    workers_max: int


class AssignmentUpdate(BaseModel):
    worker_ids: list[int] = Field(max_length=20)


class AssignmentUpdated(BaseModel):
    compound_code: str
    worker_ids: list[int]


class PatrolCreate(BaseModel):
    client_key: str = Field(min_length=1, max_length=100)


class PatrolPublic(BaseModel):
    id: int
    started_at: datetime
    ended_at: datetime | None = None
    auto_closed: bool = False


class FixIn(BaseModel):
    t: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: CRS = "wgs84"
    accuracy_m: float | None = Field(default=None, ge=0)
    speed_mps: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)


class FixBatch(BaseModel):
    batch_key: str = Field(min_length=1, max_length=100)
    fixes: list[FixIn] = Field(max_length=1000)


class FixBatchResult(BaseModel):
    accepted: int
    duplicates: int
    flagged: int


class CheckinCreate(BaseModel):
    client_key: str = Field(min_length=1, max_length=100)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    crs: CRS = "wgs84"
    t: LocalDatetime = Field(description=NAIVE_IS_BEIJING)
    compound_code: str | None = Field(default=None, max_length=20)
    households: list[int] = Field(default_factory=list, max_length=200)


class CheckinPublic(BaseModel):
    visit_id: int
    compound_code: str | None


class ChecklistItemPublic(BaseModel):
    code: str
    label: str
    category: str


class AnswerIn(BaseModel):
    item: str = Field(max_length=40)
    status: Literal["ok", "problem"]
    note: str | None = Field(default=None, max_length=2000)
    photo_ids: list[int] = Field(default_factory=list, max_length=10)


class AnswersCreate(BaseModel):
    client_key: str = Field(min_length=1, max_length=100)
    answers: list[AnswerIn] = Field(min_length=1, max_length=30)


class AnswerTicket(BaseModel):
    item: str
    ticket_id: int


class AnswersResult(BaseModel):
    visit_id: int
    tickets: list[AnswerTicket]


class PatrolEnd(BaseModel):
    t: LocalDatetime | None = Field(default=None, description=NAIVE_IS_BEIJING)


class TodayCompound(BaseModel):
    code: str
    name: str
    minutes_on_site: float
    required_minutes: int
    visited: bool


class TodayTicket(BaseModel):
    id: int
    category: str
    state: str
    cell_code: str | None
    compound_code: str | None
    due_at: datetime | None


class TodayPublic(BaseModel):
    date: date
    compounds: list[TodayCompound]
    must_visit: list[dict[str, Any]]
    tickets: list[TodayTicket]


class RuleRow(BaseModel):
    worker_id: int
    worker_name: str
    worker_username: str
    compound_code: str
    compound_name: str
    cell_code: str | None = None
    cell_name: str | None = None
    minutes: float
    required_minutes: int
    met: bool


class CoverageRow(BaseModel):
    cell_code: str
    cell_name: str
    share: float


class UnvisitedRow(BaseModel):
    compound_code: str
    compound_name: str
    last_visit: datetime | None


class HouseholdCreate(BaseModel):
    cell_code: str = Field(min_length=1, max_length=15)
    compound_code: str | None = Field(default=None, max_length=20)
    building: str = Field(min_length=1, max_length=40)
    unit: str = Field(min_length=1, max_length=40)
    kind: str = Field(max_length=30)
    label: str | None = Field(default=None, max_length=80)
    every_days: int | None = Field(default=None, ge=1, le=366)


class HouseholdPublic(BaseModel):
    id: int
    cell_code: str
    compound_code: str | None
    building: str
    unit: str
    kind: str
    kind_label: str
    label: str | None
    every_days: int


class MustVisitDay(BaseModel):
    date: date
    households: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    visited: list[int]
    missed: list[int]


class PatrolLogPublic(BaseModel):
    date: date
    kind: Literal["worker", "compound"]
    subject: str
    visits: int
    checked: list[str]
    found: list[dict[str, Any]]
    ticketed: list[int]
    solved: list[int]
    households_visited: list[int]
    minutes_on_site: dict[str, float]
    walked_m: float
