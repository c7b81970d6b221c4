"""The draft state of a plan: live cells of the communities it touches with the plan's changes applied."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import AdminArea, utcnow
from gis.plans.geo import as_multipolygon, same_shape
from gis.plans.models import BoundaryPlan, PlanFeature

CELL_CODE = re.compile(r"^[0-9]{15}$")


@dataclass
class DraftCell:
    code: str
    name: str
    community_code: str
    cell_type: str
    households: int
    population: int
    geom: BaseGeometry | None  # None for a removed cell
    status: str  # live (unchanged) | add | change | remove
    live_id: int | None = None
    live_geom: BaseGeometry | None = None
    live_households: int | None = None


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


def _wkb(rows: Sequence[Any], index: int) -> list[BaseGeometry | None]:
    blobs = [None if r[index] is None else bytes(r[index]) for r in rows]
    return list(shapely.from_wkb(blobs)) if blobs else []


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
    geoms = _wkb(rows, 3)
    found = {r[1]: Community(r[0], r[1], r[2], g) for r, g in zip(rows, geoms, strict=True)}
    if plan is not None and plan.id is not None:
        drafted = session.execute(_PLAN_COMMUNITIES, {"plan_id": plan.id, "codes": codes}).all()
        for (code, name, action, _), geom in zip(drafted, _wkb(drafted, 3), strict=True):
            if action != "remove" and geom is not None:
                found[code] = Community(found[code].id if code in found else 0, code, name, geom)
    missing = sorted(set(codes) - set(found))
    if missing:
        raise InvalidInput(
            f"社区编码不存在 / unknown community code(s): {', '.join(missing)}; a cell code is the 12-digit "
            "community code followed by a 3-digit sequence number (import the new community first)"
        )
    return found


_LIVE_SQL = text(
    """
    SELECT c.id, c.code, c.name, a.code AS community_code, c.cell_type, c.households, c.population,
           ST_AsBinary(c.geom) AS wkb
    FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id
    WHERE c.valid_to IS NULL AND a.code = ANY(:codes)
    ORDER BY c.code
    """
)


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


def draft_cells(session: Session, plan: BoundaryPlan, codes: list[str] | None = None) -> list[DraftCell]:
    """Every cell of the plan's communities (or `codes`) as the draft would make them, removed ones included."""
    codes = sorted(plan.base) if codes is None else codes
    live_rows = session.execute(_LIVE_SQL, {"codes": codes}).all()
    live_geoms = _wkb(live_rows, 7)
    cells: dict[str, DraftCell] = {}
    for r, g in zip(live_rows, live_geoms, strict=True):
        cells[r.code] = DraftCell(
            r.code, r.name, r.community_code, r.cell_type, r.households, r.population, g, "live", r.id, g, r.households
        )
    feats = session.execute(
        select(PlanFeature, PlanFeature.geom.ST_AsBinary())
        .where(PlanFeature.plan_id == plan.id, PlanFeature.community_code.in_(codes))
        .order_by(PlanFeature.code)
    ).all()
    feat_geoms = _wkb([(f[1],) for f in feats], 0)
    for (f, _), g in zip(feats, feat_geoms, strict=True):
        live = cells.get(f.code)
        cells[f.code] = DraftCell(
            f.code,
            f.name,
            f.community_code,
            f.cell_type,
            f.households,
            f.population,
            None if f.action == "remove" else g,
            f.action,
            live.live_id if live else None,
            live.live_geom if live else None,
            live.live_households if live else None,
        )
    return sorted(cells.values(), key=lambda c: c.code)


def check_code(code: str, *, what: str) -> str:
    code = str(code).strip()
    if not CELL_CODE.match(code):
        raise InvalidInput(
            f"{what}: 网格编码 {code!r} 不是15位数字 / cell code {code!r} must be 15 digits "
            "(12-digit community code + 3-digit sequence)"
        )
    return code


def live_code_owner(session: Session, code: str) -> str | None:
    """The community code of the live cell with this code, if any."""
    owner: str | None = session.scalar(
        text(
            "SELECT a.code FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id "
            "WHERE c.code = :code AND c.valid_to IS NULL"
        ),
        {"code": code},
    )
    return owner


@dataclass
class CellInput:
    """A cell to put into a draft (None attributes: keep the live / previous value)."""

    code: str
    geom: BaseGeometry
    name: str | None = None
    households: int | None = None
    population: int | None = None
    cell_type: str | None = None
    properties: dict[str, Any] | None = None


def put_cell(session: Session, plan: BoundaryPlan, cell: CellInput) -> PlanFeature | None:
    """Add or change one cell in the draft; None when the result equals the live cell (no change)."""
    return put_cells(session, plan, [cell])[0]


def put_cells(session: Session, plan: BoundaryPlan, cells: list[CellInput]) -> list[PlanFeature | None]:
    """Add or change cells in the draft; a cell equal to its live version leaves the plan (None)."""
    community_codes = sorted({check_code(c.code, what=f"网格 / cell {c.code}")[:12] for c in cells})
    for cc in community_codes:
        ensure_base(session, plan, cc)
    owners: dict[str, str] = dict(
        session.execute(
            text(
                "SELECT c.code, a.code FROM grid_cells c JOIN admin_areas a ON a.id = c.community_id "
                "WHERE c.code = ANY(:codes) AND c.valid_to IS NULL"
            ),
            {"codes": [c.code for c in cells]},
        ).all()
    )
    live = {
        r.code: r
        for r in session.execute(
            text(
                "SELECT c.id, c.code, c.name, c.households, c.population, c.cell_type, ST_AsBinary(c.geom) AS wkb "
                "FROM grid_cells c WHERE c.code = ANY(:codes) AND c.valid_to IS NULL"
            ),
            {"codes": [c.code for c in cells]},
        ).all()
    }
    feats = {
        f.code: f
        for f in session.scalars(
            select(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code.in_([c.code for c in cells]))
        )
    }
    retired = sorted(
        set(
            session.execute(
                text("SELECT code FROM grid_cells WHERE code = ANY(:codes) AND valid_to IS NOT NULL"),
                {"codes": [c.code for c in cells if c.code not in live]},
            ).scalars()
        )
    )
    if retired:  # a code names one cell through its whole history: a new cell never takes an old code
        fresh = next_codes(session, plan, retired[0][:12], 1)[0]
        raise InvalidInput(
            f"网格编码 {', '.join(retired)} 属于已撤销的网格，新网格请用新编码（如 {fresh}）/ code(s) "
            f"{', '.join(retired)} belonged to retired cells; give the new cell a fresh code such as {fresh}",
            detail={"retired": retired, "next_free": fresh},
        )
    out: list[PlanFeature | None] = []
    for c in cells:
        community_code = c.code[:12]
        owner = owners.get(c.code)
        if owner is not None and owner != community_code:
            raise InvalidInput(
                f"网格 {c.code}: 编码已被社区 {owner} 的现行网格使用 / code {c.code} is a live cell of {owner}"
            )
        lv, feat = live.get(c.code), feats.get(c.code)
        mp = as_multipolygon(c.geom)
        values = {
            "name": c.name
            if c.name is not None
            else (feat.name if feat else lv.name if lv else f"第{int(c.code[12:])}网格"),
            "households": c.households if c.households is not None else (lv.households if lv else 0),
            "population": c.population if c.population is not None else (lv.population if lv else 0),
            "cell_type": c.cell_type if c.cell_type is not None else (lv.cell_type if lv else "basic"),
        }
        if lv is not None:
            live_geom = shapely.from_wkb(bytes(lv.wkb))
            same = same_shape(live_geom, mp)
            if same:  # keep the live boundary exactly, so neighbours still match vertex for vertex
                mp = as_multipolygon(live_geom)
            live_values = {
                "name": lv.name,
                "households": lv.households,
                "population": lv.population,
                "cell_type": lv.cell_type,
            }
            if same and live_values == values:
                if feat is not None:
                    session.delete(feat)
                out.append(None)
                continue
        if feat is None:
            feat = PlanFeature(plan_id=plan.id, code=c.code, community_code=community_code)
            session.add(feat)
        feat.action = "change" if lv is not None else "add"
        feat.base_version_id = lv.id if lv is not None else None
        feat.name = str(values["name"])[:80]
        feat.households = int(values["households"] or 0)
        feat.population = int(values["population"] or 0)
        feat.cell_type = str(values["cell_type"])
        feat.properties = c.properties or {}
        feat.geom = "SRID=4326;" + shapely.to_wkt(mp, rounding_precision=-1)
        feat.updated_at = utcnow()
        out.append(feat)
    plan.updated_at = utcnow()
    session.flush()
    return out


def remove_cell(session: Session, plan: BoundaryPlan, code: str) -> None:
    """Remove a cell in the draft (a live cell is marked removed; a cell only in the plan is dropped)."""
    community_code = check_code(code, what=f"网格 / cell {code}")[:12]
    ensure_base(session, plan, community_code)
    feat = session.scalar(select(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code == code))
    live_owner = live_code_owner(session, code)
    if live_owner is None:
        if feat is None:
            raise NotFound(f"网格 {code} 不在方案或现行网格中 / cell {code} is neither live nor in the plan")
        session.delete(feat)
    else:
        live = session.execute(
            text("SELECT id, name FROM grid_cells WHERE code = :code AND valid_to IS NULL"), {"code": code}
        ).one()
        if feat is None:
            feat = PlanFeature(plan_id=plan.id, code=code, community_code=community_code)
            session.add(feat)
        feat.action, feat.geom, feat.base_version_id, feat.name = "remove", None, live.id, live.name
        feat.updated_at = utcnow()
    plan.updated_at = utcnow()
    session.flush()


def revert_cell(session: Session, plan: BoundaryPlan, code: str) -> None:
    """Drop the plan's change to a cell (back to the live version)."""
    session.execute(delete(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code == code))


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
    pts: np.ndarray[Any, Any] = np.array(_wkb(rows, 0), dtype=object)
    return Households(pts, np.asarray([r[1] for r in rows], dtype=np.int64), [r[2] for r in rows])


def empty_multipolygon() -> MultiPolygon:
    return MultiPolygon()
