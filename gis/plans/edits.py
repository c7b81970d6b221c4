"""Edits of a plan's draft, keyed by layer: put (add or change), remove, revert.

Nothing here touches live tables. A feature put back to exactly its live state leaves the plan. Cells
keep their own rules (a code names one cell through its whole history; a cell's code starts with its
community's; missing households come from the live version); compounds and communities follow
gis.plans.areas.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.models import utcnow
from gis.plans.areas import put_areas
from gis.plans.draft import FeatureInput, ensure_base, live_features, next_codes
from gis.plans.geo import as_multipolygon, same_shape
from gis.plans.layers import SPECS, Layer, check_code, check_layer
from gis.plans.models import BoundaryPlan, PlanArea, PlanFeature

PlanRow = PlanFeature | PlanArea


def put_features(session: Session, plan: BoundaryPlan, layer: Layer, items: list[FeatureInput]) -> list[PlanRow | None]:
    """Add or change features of one layer in the draft; a feature equal to its live version leaves the plan
    (None in the answer)."""
    if check_layer(layer) == "cell":
        return list(_put_cells(session, plan, items))
    return list(put_areas(session, plan, layer, items))


def _put_cells(session: Session, plan: BoundaryPlan, cells: list[FeatureInput]) -> list[PlanFeature | None]:
    community_codes = sorted({check_code("cell", c.code, what=f"网格 / cell {c.code}")[:12] for c in cells})
    for cc in community_codes:
        ensure_base(session, plan, cc)
    codes = [c.code for c in cells]
    live = live_features(session, "cell", codes=codes)
    feats = {
        f.code: f
        for f in session.scalars(select(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code.in_(codes)))
    }
    retired = sorted(
        set(
            session.execute(
                text("SELECT code FROM grid_cells WHERE code = ANY(:codes) AND valid_to IS NOT NULL"),
                {"codes": [c for c in codes if c not in live]},
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
        lv, live_geom = live.get(c.code, (None, None))
        if lv is not None and lv.community_code != community_code:
            raise InvalidInput(
                f"网格 {c.code}: 编码已被社区 {lv.community_code} 的现行网格使用 / code {c.code} is a live cell of "
                f"{lv.community_code}"
            )
        feat = feats.get(c.code)
        if c.geom is None:
            raise InvalidInput(f"网格 {c.code}: 没有几何 / a cell needs a geometry")
        mp = as_multipolygon(c.geom)
        # an attribute not given keeps the live value (not the drafted one), else the default
        live_values: dict[str, Any] = {"cell_type": "basic", "households": 0, "population": 0}
        if lv is not None:
            live_values = {"name": lv.name, **lv.attributes}
        values = {k: c.attributes[k] if c.attributes.get(k) is not None else live_values[k] for k in live_values}
        values["name"] = (
            c.name if c.name is not None else (feat.name if feat else lv.name if lv else f"第{int(c.code[12:])}网格")
        )
        if lv is not None and live_geom is not None:
            same = same_shape(live_geom, mp)
            if same:  # keep the live boundary exactly, so neighbours still match vertex for vertex
                mp = as_multipolygon(live_geom)
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


def _plan_row(session: Session, plan: BoundaryPlan, layer: Layer, code: str) -> PlanRow | None:
    if layer == "cell":
        return session.scalar(select(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code == code))
    return session.scalar(
        select(PlanArea).where(PlanArea.plan_id == plan.id, PlanArea.layer == layer, PlanArea.code == code)
    )


def remove_feature(session: Session, plan: BoundaryPlan, layer: Layer, code: str) -> None:
    """Remove a feature in the draft: a live one is marked removed, one only in the plan is dropped.
    Communities are never removed: their old cells and tickets keep referring to them; redraw them instead."""
    spec = SPECS[check_layer(layer)]
    code = check_code(layer, code, what=f"{spec.label} {code}")
    if spec.removal_refused is not None:
        raise InvalidInput(spec.removal_refused.format(code=code))
    if layer == "cell":  # a cell's community is in its code: lock it even for a cell only in the plan
        ensure_base(session, plan, code[:12])
    live = live_features(session, layer, codes=[code])
    feat = _plan_row(session, plan, layer, code)
    if code not in live:
        if feat is None:
            raise NotFound(spec.not_found.format(code=code))
        session.delete(feat)
    else:
        row, _ = live[code]
        ensure_base(session, plan, row.community_code)
        if feat is None:
            feat = (
                PlanFeature(plan_id=plan.id, code=code, community_code=code[:12])
                if layer == "cell"
                else PlanArea(plan_id=plan.id, layer=layer, code=code)
            )
            session.add(feat)
        feat.action, feat.geom, feat.name = "remove", None, row.name
        if isinstance(feat, PlanFeature):
            feat.base_version_id = row.id
        else:
            feat.community_code, feat.base_id, feat.base_hash = row.community_code, row.id, row.hash
            feat.attributes = {}
        feat.updated_at = utcnow()
    plan.updated_at = utcnow()
    session.flush()


def revert_feature(session: Session, plan: BoundaryPlan, layer: Layer, code: str) -> None:
    """Drop the plan's change to one feature (back to the live version)."""
    if check_layer(layer) == "cell":
        session.execute(delete(PlanFeature).where(PlanFeature.plan_id == plan.id, PlanFeature.code == code))
    else:
        session.execute(
            delete(PlanArea).where(PlanArea.plan_id == plan.id, PlanArea.layer == layer, PlanArea.code == code)
        )
