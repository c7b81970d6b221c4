"""The draft state of a plan: the live cells, compounds and communities of the communities it touches,
with the plan's changes applied; the plan's base (the live versions it started from) and fresh codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import AdminArea
from gis.plans.geo import geoms_from_wkb
from gis.plans.layers import SPECS, Layer
from gis.plans.models import BoundaryPlan, PlanArea, PlanFeature


@dataclass
class Community:
    id: int
    code: str
    name: str
    geom: BaseGeometry


def get_plan(session: Session, plan_id: int, *, for_update: bool = False) -> BoundaryPlan:
    stmt = select(BoundaryPlan).where(BoundaryPlan.id == plan_id)
    plan = session.scalar(stmt.with_for_update() if for_update else stmt)
    if plan is None:
        raise NotFound(f"规划方案不存在 / plan {plan_id} not found")
    return plan


def editable_plan(session: Session, plan_id: int) -> BoundaryPlan:
    """The plan, locked, if it is still a draft (committed plans are history and never change)."""
    plan = get_plan(session, plan_id, for_update=True)
    if plan.status != "draft":
        raise Conflict(
            f"方案 {plan_id} 已{'提交' if plan.status == 'committed' else '废弃'}，不能再修改 / plan {plan_id} is "
            f"{plan.status}; start a new plan to change these cells"
        )
    return plan


_PLAN_COMMUNITIES = text(
    """
    SELECT code, name, action, ST_AsBinary(geom) FROM plan_areas
    WHERE plan_id = :plan_id AND layer = 'community' AND code = ANY(:codes)
    """
)


def communities(session: Session, codes: list[str], plan: BoundaryPlan | None = None) -> dict[str, Community]:
    """Communities by code (level 'community'), as the plan redraws them if one is given (a community the
    plan adds has id 0); an unknown code is a clear error."""
    rows = session.execute(
        select(AdminArea.id, AdminArea.code, AdminArea.name, AdminArea.geom.ST_AsBinary()).where(
            AdminArea.code.in_(codes), AdminArea.level == "community"
        )
    ).all()
    geoms = geoms_from_wkb(rows, 3)
    found = {r[1]: Community(r[0], r[1], r[2], g) for r, g in zip(rows, geoms, strict=True)}
    if plan is not None and plan.id is not None:
        drafted = session.execute(_PLAN_COMMUNITIES, {"plan_id": plan.id, "codes": codes}).all()
        for (code, name, action, _), geom in zip(drafted, geoms_from_wkb(drafted, 3), strict=True):
            if action != "remove" and geom is not None:
                found[code] = Community(found[code].id if code in found else 0, code, name, geom)
    missing = sorted(set(codes) - set(found))
    if missing:
        raise InvalidInput(
            f"社区编码不存在 / unknown community code(s): {', '.join(missing)}; a cell code is the 12-digit "
            "community code followed by a 3-digit sequence number (import the new community first)"
        )
    return found


def live_ids(session: Session, community_code: str) -> list[int]:
    rows = session.execute(
        text(
            "SELECT c.id FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id "
            "WHERE c.valid_to IS NULL AND a.code = :code ORDER BY c.id"
        ),
        {"code": community_code},
    ).scalars()
    return list(rows)


def ensure_base(session: Session, plan: BoundaryPlan, community_code: str) -> None:
    """Record the live versions a community's draft starts from (the optimistic lock checked on commit)."""
    if community_code in plan.base:
        return
    communities(session, [community_code], plan)
    plan.base = {**plan.base, community_code: live_ids(session, community_code)}


@dataclass
class DraftFeature:
    """A cell, compound or community as the draft makes it: live, added, changed or removed."""

    layer: Layer
    code: str
    name: str
    community_code: str
    geom: BaseGeometry | None  # None for a removed feature
    status: str  # live (unchanged) | add | change | remove
    attributes: dict[str, Any]  # the layer's attributes (LayerSpec.attributes)
    live_id: int | None = None
    live_geom: BaseGeometry | None = None
    live_attributes: dict[str, Any] | None = None  # None when there is no live row

    @property
    def households(self) -> int:
        return int(self.attributes.get("households") or 0)

    @property
    def live_households(self) -> int | None:
        return None if self.live_attributes is None else int(self.live_attributes.get("households") or 0)


@dataclass
class FeatureInput:
    """A feature to put into a draft. `geom` None keeps the current geometry (an attribute update of a compound
    or community); attributes None or missing keep the live (cells) or drafted (areas) value."""

    code: str
    geom: BaseGeometry | None
    name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # the layer's LayerSpec.attributes
    community_code: str | None = None  # compounds: the community they belong to
    properties: dict[str, Any] | None = None  # cells: the file's own columns, kept with the plan


def live_features(
    session: Session, layer: Layer, *, codes: list[str] | None = None, communities: list[str] | None = None
) -> dict[str, tuple[Any, BaseGeometry | None]]:
    """Live rows by code (id, code, name, community_code, wkb, hash, attributes) with their geometry, by
    codes or by community."""
    spec = SPECS[layer]
    where = spec.by_code if codes is not None else spec.by_community
    rows = session.execute(
        text(spec.live_sql.format(where=where)), {"codes": codes if codes is not None else communities or []}
    ).all()
    return {r.code: (r, g) for r, g in zip(rows, geoms_from_wkb(rows, 4), strict=True)}


@dataclass
class _Planned:
    """A plan row of any layer, read alike."""

    code: str
    name: str
    community_code: str
    action: str
    base_id: int | None
    attributes: dict[str, Any]
    geom: BaseGeometry | None


def _planned(session: Session, plan: BoundaryPlan, layer: Layer, community_codes: list[str]) -> list[_Planned]:
    """The plan's rows of a layer: cells of the given communities; compounds / communities all of them."""
    if layer == "cell":
        cells = session.execute(
            select(PlanFeature, PlanFeature.geom.ST_AsBinary())
            .where(PlanFeature.plan_id == plan.id, PlanFeature.community_code.in_(community_codes))
            .order_by(PlanFeature.code)
        ).all()
        return [
            _Planned(
                f.code,
                f.name,
                f.community_code,
                f.action,
                f.base_version_id,
                {"cell_type": f.cell_type, "households": f.households, "population": f.population},
                g,
            )
            for (f, _), g in zip(cells, geoms_from_wkb(cells, 1), strict=True)
        ]
    areas = session.execute(
        select(PlanArea, PlanArea.geom.ST_AsBinary())
        .where(PlanArea.plan_id == plan.id, PlanArea.layer == layer)
        .order_by(PlanArea.code)
    ).all()
    return [
        _Planned(a.code, a.name, a.community_code, a.action, a.base_id, a.attributes, g)
        for (a, _), g in zip(areas, geoms_from_wkb(areas, 1), strict=True)
    ]


def draft_features(
    session: Session, plan: BoundaryPlan, layer: Layer, community_codes: list[str] | None = None
) -> list[DraftFeature]:
    """Every feature of a layer in the plan's communities (or `community_codes`) as the draft makes it,
    removed ones included, by code."""
    codes = sorted(plan.base) if community_codes is None else community_codes
    out: dict[str, DraftFeature] = {}
    for code, (r, g) in live_features(session, layer, communities=codes).items():
        attrs = dict(r.attributes)
        out[code] = DraftFeature(layer, code, r.name, r.community_code, g, "live", attrs, r.id, g, dict(attrs))
    for p in _planned(session, plan, layer, codes):
        live = out.get(p.code)
        out[p.code] = DraftFeature(
            layer,
            p.code,
            p.name,
            p.community_code,
            None if p.action == "remove" else p.geom,
            p.action,
            {**(live.attributes if live else {}), **p.attributes},
            live.live_id if live else p.base_id,
            live.live_geom if live else None,
            live.live_attributes if live else None,
        )
    return sorted(out.values(), key=lambda d: d.code)


def next_codes(session: Session, plan: BoundaryPlan, community_code: str, n: int) -> list[str]:
    """n fresh cell codes for a community: never a code used by any version, live or retired, or the plan."""
    used = session.execute(
        text(
            "SELECT code FROM grid_cells WHERE code LIKE :prefix "
            "UNION SELECT code FROM plan_features WHERE plan_id = :plan AND code LIKE :prefix"
        ),
        {"prefix": community_code + "%", "plan": plan.id},
    ).scalars()
    top = max((int(c[12:]) for c in used), default=0)
    if top + n > 999:
        raise InvalidInput(f"社区 {community_code} 的网格序号已用完 / no free 3-digit sequence numbers left")
    return [f"{community_code}{top + i:03d}" for i in range(1, n + 1)]


@dataclass
class Households:
    """Building points (ST_PointOnSurface) with households and their compound, for one set of communities."""

    points: np.ndarray[Any, Any]
    households: np.ndarray[Any, Any]
    compound_codes: list[str]

    def per_cell(self, geoms: list[BaseGeometry]) -> list[int]:
        """Households whose building point lies in each geometry (STRtree, one batch)."""
        out = np.zeros(len(geoms), dtype=np.int64)
        valid = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
        if not valid or len(self.points) == 0:
            return [int(v) for v in out]
        tree = shapely.STRtree(self.points)
        idx_geom, idx_pt = tree.query([shapely.make_valid(geoms[i]) for i in valid], predicate="covers")
        np.add.at(out, np.asarray(valid)[idx_geom], self.households[idx_pt])
        return [int(v) for v in out]


def households_of(session: Session, community_codes: list[str]) -> Households:
    rows = session.execute(
        text(
            """
            SELECT ST_AsBinary(ST_PointOnSurface(b.geom)), b.households, x.code
            FROM buildings b JOIN compounds x ON x.id = b.compound_id JOIN admin_areas a ON a.id = x.community_id
            WHERE a.code = ANY(:codes) ORDER BY b.id
            """
        ),
        {"codes": community_codes},
    ).all()
    pts: np.ndarray[Any, Any] = np.array(geoms_from_wkb(rows, 0), dtype=object)
    return Households(pts, np.asarray([r[1] for r in rows], dtype=np.int64), [r[2] for r in rows])
