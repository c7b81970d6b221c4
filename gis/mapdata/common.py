"""Shapes of map data and the small query helpers the page queries share.

15-minute reach (15分钟生活圈, R4): ~1000 m of walking (GB 50180-2018 puts the 15-minute residential
circle at 800–1000 m of walking distance).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.models import Street
from gis.reference import hours as osm_hours
from gis.resources import RESOURCE_TYPES, open_now
from gis.spatial import METRES_PER_DEGREE, BBox, feature_collection

REACH_M = 1000.0

# What a 15-minute circle should offer; a need is met by any of its types (R4 gaps, R5 types).
LIFE_CIRCLE_NEEDS: dict[str, tuple[str, ...]] = {
    "党群服务": ("party_service_center", "good_life_center"),
    "助餐": ("community_canteen", "elderly_meal_point"),
    "养老": ("elderly_care",),
    "托育": ("childcare",),
    "卫生": ("health_station",),
    "便民维修": ("repair",),
    "购物": ("supermarket", "station_24h"),
}


def gaps_for(types: set[str]) -> list[str]:
    """Needs of the 15-minute circle that none of `types` meets."""
    return [need for need, options in LIFE_CIRCLE_NEEDS.items() if not types.intersection(options)]


@dataclass
class Reach:
    method: str  # "network" (pgRouting walk over streets) or "buffer" (straight-line)
    reach_m: float
    geometry: dict[str, Any]

    @property
    def label(self) -> str:
        if self.method == "network":
            return f"步行15分钟范围（按路网步行 {self.reach_m:.0f} 米计算）"
        return f"15分钟生活圈（直线 {self.reach_m / 1000:g} 公里范围，无路网数据时的近似）"


def _now() -> datetime:
    return datetime.now().astimezone()


@dataclass
class CompoundMap:
    compound: dict[str, Any]  # compound_summary + geometry, community, subdistrict
    buildings: dict[str, Any]  # FeatureCollection
    cell: dict[str, Any] | None  # Feature with manager / workers
    neighbours: dict[str, Any]  # FeatureCollection of the other compounds around
    streets: dict[str, Any] | None  # one MultiLineString geometry (a backdrop without basemap)
    reach: Reach
    resources: list[dict[str, Any]]  # nearest first; in_reach, distance_m, walk_m, open_now, hours …
    gaps: list[str]  # needs of the 15-minute circle nothing in reach meets
    bounds: tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat to open the map on
    generated_at: datetime = field(default_factory=_now)
    participation: dict[str, Any] | None = None  # {"community": …, "compound": …} of gis.participation.summary
    consultations: list[dict[str, Any]] | None = None  # 议事协商: gis.evaluation.consultations.public_topics


@dataclass
class CommunityMap:
    community: dict[str, Any]  # Feature
    cells: dict[str, Any]
    compounds: dict[str, Any]  # with `gaps` per compound
    resources: list[dict[str, Any]]
    streets: dict[str, Any] | None
    bounds: tuple[float, float, float, float]
    generated_at: datetime = field(default_factory=_now)
    participation: dict[str, Any] | None = None  # {"community": …} of gis.participation.summary


def bounds_of(session: Session, geom: Any, margin_m: float) -> BBox:
    box = func.ST_Expand(geom, margin_m / METRES_PER_DEGREE)
    row = session.execute(select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))).one()
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def streets_in(session: Session, envelope: Any) -> dict[str, Any] | None:
    """The street network inside an envelope as one geometry (drawn when there is no basemap)."""
    geom = session.scalar(
        select(func.ST_AsGeoJSON(func.ST_Collect(Street.geom), 7)).where(Street.geom.intersects(envelope))
    )
    return None if geom is None else dict(json.loads(geom))


def resource_out(row: Any, reach_m: float, *, network: bool = False) -> dict[str, Any]:
    """A resource row as map data: type label, machine hours kept (pages refresh open-now), distances.

    With a walking network, `walk_m` is the walk along streets (None: farther than the search limit)
    and decides `in_reach`; without one, the straight-line `distance_m` does."""
    d = dict(row._mapping)
    d["hours"] = list(d.get("hours") or [])
    if d.get("osm_hours"):  # this week's spans with its holidays, for the page's in-browser refresh
        try:
            d["hours"] = osm_hours.weekly_spans(d["osm_hours"], holidays=True)
        except osm_hours.ParserError:
            d["hours"] = []
    d["type_label"] = RESOURCE_TYPES.get(d["type"], d["type"])
    d["open_now"] = open_now(d.get("osm_hours"), d["hours"])
    d["distance_m"] = round(float(d["distance_m"]))
    walk = d.get("walk_m")
    d["walk_m"] = None if walk is None else round(float(walk))
    if network:
        d["in_reach"] = d["walk_m"] is not None and d["walk_m"] <= reach_m
    else:
        d["in_reach"] = d["distance_m"] <= reach_m
    d["features"] = list(d.get("features") or [])
    return d


@dataclass
class PlanDiffMap:
    """A draft boundary plan against the live cells (filled by the planning module)."""

    plan: dict[str, Any]  # code, name, status, author …
    live: dict[str, Any]  # FeatureCollection of the live cells it touches (code, name, households)
    draft: dict[str, Any]  # FeatureCollection of draft cells; properties.change: added|changed|removed|unchanged
    changed: dict[str, Any]  # pieces of ground that move cell: from_code, to_code, area_m2, tickets
    affected: dict[str, int]  # what a commit re-anchors: tickets, resources, compounds, buildings …
    bounds: tuple[float, float, float, float]
    # redrawn compounds / communities: layer, code, name, change (added|changed|removed), side (live|draft)
    areas: dict[str, Any] = field(default_factory=lambda: feature_collection([]))
    generated_at: datetime = field(default_factory=_now)
