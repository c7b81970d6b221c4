"""Duplicates (FixMyStreet-style): open tickets of the same category within ~50 m are offered for merging.

Distances are geodesic (geography), so "49 m" and "51 m" mean metres on the ground.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import User, utcnow
from gis.spatial import point_sql
from gis.tickets import events, workflow
from gis.tickets.config import load_config
from gis.tickets.models import Ticket


def find_duplicates(
    session: Session,
    *,
    category: str,
    lon: float,
    lat: float,
    radius_m: float | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Open tickets of `category` within `radius_m` of the point, nearest first."""
    radius = load_config().dedupe_radius_m if radius_m is None else radius_m
    here = func.Geography(point_sql(lon, lat))
    distance = func.ST_Distance(func.Geography(Ticket.geom), here)
    # index prefilter on the geometry (GiST) with a box safely larger than the radius, then exact metres
    dx, dy = prefilter_box(radius, lat)
    stmt = (
        select(Ticket.id, Ticket.state, Ticket.description, Ticket.opened_at, distance.label("distance_m"))
        .where(
            Ticket.category == category,
            Ticket.state.not_in(workflow.TERMINAL),
            Ticket.geom.op("&&")(func.ST_Expand(point_sql(lon, lat), dx, dy)),
            func.ST_DWithin(func.Geography(Ticket.geom), here, radius),
        )
        .order_by(distance, Ticket.id)
        .limit(limit)
    )
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    return [candidate(r.id, r.state, r.description, r.opened_at, r.distance_m) for r in session.execute(stmt)]


def prefilter_box(radius_m: float, lat: float) -> tuple[float, float]:
    """Half-sizes (degrees of lon, lat) of a box safely larger than a radius in metres at latitude `lat`."""
    dy = radius_m / 110_000.0
    return dy / max(math.cos(math.radians(lat)), 0.01), dy


def candidate(ticket_id: int, state: str, description: str, opened_at: datetime, distance_m: float) -> dict[str, Any]:
    """One duplicate candidate as the API returns it."""
    return {
        "id": ticket_id,
        "state": state,
        "state_label": workflow.STATE_LABELS[state],
        "description": description[:120],
        "opened_at": opened_at,
        "distance_m": round(float(distance_m), 1),
    }


def merge(
    session: Session,
    ticket_id: int,
    into_id: int,
    *,
    user: User | None,
    note: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The duplicate becomes `merged` into the older ticket; its reporter is kept and notified."""
    now = now or utcnow()
    if ticket_id == into_id:
        raise Conflict("工单不能与自身合并 / a ticket cannot be merged into itself")
    target = session.get(Ticket, into_id)
    if target is None:
        raise NotFound(f"合并目标工单不存在 / no ticket {into_id} to merge into")
    for _ in range(10):  # follow a chain of merges to the surviving ticket
        nxt = session.get(Ticket, target.merged_into_id) if target.merged_into_id is not None else None
        if nxt is None:
            break
        target = nxt
    if target.state in workflow.TERMINAL or target.id == ticket_id:
        raise Conflict(
            f"工单 {target.id} 已{workflow.STATE_LABELS[target.state]}，不能合并 / ticket {target.id} is "
            f"{target.state}; merge into an open ticket",
            detail={"into": target.id, "state": target.state},
        )

    def link(t: Ticket) -> None:
        t.merged_into_id = target.id

    merged = workflow.transition(
        session, ticket_id, "merge", user=user, note=note, payload={"into": target.id}, now=now, before_commit=link
    )
    merged.due_at = merged.due_stage = None
    events.record(
        session,
        target,
        "merged_in",
        user=user,
        note=f"合并重复工单 #{merged.id} / duplicate #{merged.id} merged in",
        payload={"ticket_id": merged.id, "reporter_name": merged.reporter_name, "channel": merged.channel},
        at=now,
    )
    if merged.reporter_id is not None or merged.reporter_phone:
        template = load_config().templates.get("duplicate", "已合并处理")
        events.notify_reporters(session, merged, "merged", f"{template} (#{target.id})", at=now)
    session.flush()
    return merged
