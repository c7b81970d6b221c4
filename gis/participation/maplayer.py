"""The operations map's 志愿服务 layer: open service items as points (what, when, places left, the compound and
grid cell of their place) and, per community in view, its participation figures (registered members, teams,
confirmed hours this month, open items: gis.participation.summary, the same figures as the 服务资源地图).

Items and the per-community counts are public in the participation API (GET /v1/participation/items and
/summary), so the layer is too; a manager or grid worker (who opens the operations map as their workbench) sees
their own communities only, like every other layer of that map."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.models import User, utcnow
from gis.participation import access
from gis.participation.items import open_items_in
from gis.participation.summary import participation
from gis.resources import SHANGHAI
from gis.spatial import BBox, feature_collection

SCOPED_ROLES = ("manager", "grid_worker")
MAX_COMMUNITIES = 200

_COMMUNITIES = """
SELECT code, name, ST_X(p) AS lon, ST_Y(p) AS lat
FROM (SELECT code, name, ST_PointOnSurface(geom) AS p FROM admin_areas
      WHERE level = 'community' AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
        AND (CAST(:all AS boolean) OR code = ANY(:codes))) AS c
ORDER BY code LIMIT :limit
"""


def window_label(starts_at: datetime, ends_at: datetime) -> str:
    """ "12月3日 09:00–11:00" in 北京时间 (the end's day too when it is another day)."""
    a, b = starts_at.astimezone(SHANGHAI), ends_at.astimezone(SHANGHAI)
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b.month}月{b.day}日 {b:%H:%M}"
    return f"{a.month}月{a.day}日 {a:%H:%M}–{end}"


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(float(lon), 7), round(float(lat), 7)]}


def participation_layer(
    session: Session, *, bbox: BBox, user: User | None, now: datetime | None = None, limit: int = 2000
) -> dict[str, Any]:
    """Features with `layer` = "item" (an open item with places left) or "community" (its figures)."""
    now = now or utcnow()
    codes = access.scope(session, user) if user is not None and user.role in SCOPED_ROLES else None
    items = open_items_in(session, bbox=bbox, communities=codes, now=now, limit=limit)
    features: list[dict[str, Any]] = []
    for it in items:
        props = {
            "layer": "item", "id": it["id"], "title": it["title"], "kind": it["kind"], "kind_label": it["kind_label"],
            "community_code": it["community_code"], "place_name": it["place_name"],
            "starts_at": it["starts_at"].isoformat(), "ends_at": it["ends_at"].isoformat(),
            "window": window_label(it["starts_at"], it["ends_at"]), "capacity": it["capacity"],
            "places_left": it["places_left"], "skills": it["skills"], "team_reserved": it["team_id"] is not None,
            "compound_code": it["compound_code"], "compound_name": it["compound_name"],
            "cell_code": it["cell_code"], "cell_name": it["cell_name"],
        }  # fmt: skip
        features.append({"type": "Feature", "geometry": _point(it["lon"], it["lat"]), "properties": props})
    rows = session.execute(
        text(_COMMUNITIES),
        {**dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)), "all": codes is None, "codes": codes or [],
         "limit": MAX_COMMUNITIES + 1},
    ).all()  # fmt: skip
    for r in rows[:MAX_COMMUNITIES]:
        figures = participation(session, community=r.code, now=now)
        props = {"layer": "community", "name": r.name, **figures}
        features.append({"type": "Feature", "geometry": _point(r.lon, r.lat), "properties": props})
    return feature_collection(features, truncated=len(items) >= limit or len(rows) > MAX_COMMUNITIES)
