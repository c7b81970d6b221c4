"""Boundary plan request/response shapes (PlanCreate / PlanPublic / operations / validation / diff / commit).

Reports that the domain may grow (validation, diff, commit) keep fields they do not declare."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import FeatureCollectionPublic


class PlanCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["泉景社区网格调整 2026"])
    description: str | None = Field(default=None, max_length=4000)


class PlanCommitPublic(BaseModel):
    id: int
    committed_at: datetime
    message: str


class PlanPublic(BaseModel):
    id: int
    name: str
    description: str | None
    status: str
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    communities: list[str]
    counts: dict[str, int]
    area_counts: dict[str, dict[str, int]] = Field(description="compounds and communities: add/change/remove")
    source: dict[str, Any]
    commit: PlanCommitPublic | None


class ImportReportPublic(BaseModel):
    plan_id: int
    layer: str = Field(description="cell, compound or community")
    format: str
    attributes_only: bool = Field(description="a CSV/Excel table without geometry: only attributes changed")
    source_crs: str
    features: int
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]
    warnings: list[str]


class SplitCreate(BaseModel):
    code: str = Field(description="15-digit code of the cell to split")
    line: dict[str, Any] | None = Field(default=None, description="GeoJSON LineString (WGS84) crossing the cell")
    parts: int | None = Field(default=None, ge=2, le=20, description="or: split into k parts by households")


class MergeCreate(BaseModel):
    codes: list[str] = Field(min_length=2, max_length=20, description="neighbouring cells; the first code is kept")


class ReshapeCreate(BaseModel):
    code: str
    geometry: dict[str, Any] = Field(description="the new GeoJSON Polygon/MultiPolygon (WGS84)")
    fit_neighbours: bool = Field(default=True, description="cut the new shape out of neighbouring cells")
    name: str | None = Field(default=None, max_length=80)
    households: int | None = Field(default=None, ge=0)


class GenerateCreate(BaseModel):
    community_code: str = Field(min_length=12, max_length=12)
    households_min: int = Field(default=200, ge=1)
    households_max: int = Field(default=300, ge=1)


class RepairCreate(BaseModel):
    codes: list[str] | None = Field(
        default=None, description="cells / compounds / communities to repair (default: every invalid one)"
    )


class CommitCreate(BaseModel):
    message: str = Field(min_length=1, max_length=2000, examples=["按户数重新划分泉景社区网格"])


class OperationPublic(BaseModel):
    plan_id: int
    operation: Literal["split", "merge", "reshape", "generate", "remove", "revert", "put"]
    codes: list[str]
    removed: list[str] = []
    households: dict[str, int] = {}
    warnings: list[str] = []


class CommitPublic(BaseModel):
    commit_id: int
    plan_id: int
    plan_name: str
    committed_at: datetime
    committed_by_id: int | None
    message: str
    communities: list[str]
    report: dict[str, Any]


class ImportJobPublic(BaseModel):
    """A background import: poll `status_url` until `status` is done or failed."""

    id: int
    plan_id: int
    status: Literal["queued", "running", "done", "failed"]
    stage: str = Field(description="queued, reading, converting, checking, counting households, writing, done")
    done: int = Field(description="features handled in this stage")
    total: int = Field(description="features in this stage (0 while unknown)")
    filename: str
    options: dict[str, Any]
    report: ImportReportPublic | None
    error: dict[str, Any] | None = Field(description="the {error, message, detail} a synchronous import would give")
    created_at: datetime
    finished_at: datetime | None
    status_url: str


class AreaUpdate(BaseModel):
    geometry: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon/MultiPolygon (WGS84); omit to change attributes only"
    )
    name: str | None = Field(default=None, max_length=80)
    community_code: str | None = Field(
        default=None, pattern=r"^[0-9]{12}$", description="compounds: the community it belongs to"
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="compounds: kind (closed/open), households, address; communities: party_org, secretary, phone",
    )


class CommunityCreate(BaseModel):
    code: str = Field(pattern=r"^[0-9]{12}$", description="12-digit community code", examples=["370102010002"])


class NextCodesPublic(BaseModel):
    community: str
    codes: list[str] = Field(description="fresh 15-digit cell codes, never used by a live or retired cell")


class ValidationSummaryPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    ok: bool = Field(description="false when an error would block the commit")
    errors: int
    warnings: int
    by_kind: dict[str, int]
    coverage_valid: dict[str, bool] = Field(description="per community: cells cover it without gaps or overlaps")
    cells: int


class ValidationPublic(FeatureCollectionPublic):
    """Problems as GeoJSON features (kind, severity, message, cells, area_m2, location) and a summary."""

    summary: ValidationSummaryPublic


class RepairedPublic(BaseModel):
    layer: str
    code: str
    reason: str | None


class RepairPublic(BaseModel):
    plan_id: int
    repaired: list[RepairedPublic]


class DiffCellPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    name: str | None
    community_code: str | None
    change: str = Field(description="added, removed, reshaped, attributes or unchanged")
    change_label: str
    area_m2_before: float | None
    area_m2_after: float | None
    area_m2_change: float
    households_before: int | None
    households_after: int | None
    moved: dict[str, dict[str, int]] = Field(description="table -> {in, out}: rows that would move")


class DiffPublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    plan_id: int
    communities: list[str]
    cells: list[DiffCellPublic]
    areas: list[dict[str, Any]] = Field(description="compounds and communities that change")
    moved: dict[str, Any] = Field(description="per table: count and by_cell flows")
    totals: dict[str, int]


class DiffMapPublic(FeatureCollectionPublic):
    """Live and draft cells with change flags and moved counts (the diff map's data)."""

    plan_id: int
    communities: list[str]
    summary: dict[str, int]


class CommitReportPublic(BaseModel):
    """What a commit changed and moved (also stored, as `report`, in the plan history)."""

    model_config = ConfigDict(extra="allow")

    commit_id: int
    plan_id: int
    committed_at: str = Field(description="ISO 8601, UTC")
    message: str
    communities: list[str]
    added: list[str]
    changed: list[str]
    removed: list[str]
    compounds: dict[str, list[str]]
    communities_redrawn: dict[str, list[str]]
    versions_closed: int
    versions_opened: int
    moved: dict[str, Any]
    staff_to_reassign: list[str] = Field(description="cells removed while staff still answer for them")
    warnings: int
