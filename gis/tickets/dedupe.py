"""Duplicates (FixMyStreet-style): open tickets of the same category within ~50 m are offered for merging.

Distances are geodesic (geography), so "49 m" and "51 m" mean metres on the ground.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from gis.errors import Conflict, NotFound
from gis.models import User, utcnow
from gis.spatial import point_sql
from gis.tickets import access, events, workflow
from gis.tickets.config import load_config
from gis.tickets.models import Ticket

DEADLOCK, LOCK_NOT_AVAILABLE = "40P01", "55P03"  # SQLSTATEs of a lock wait that failed


def find_duplicates(
    session: Session,
    *,
    category: str,
    lon: float,
    lat: float,
    radius_m: float | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
    visible: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """Open tickets of `category` within `radius_m` of the point, nearest first (among the `visible` ones:
    `access.visible_filter` of the reader)."""
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
    if visible is not None:
        stmt = stmt.where(visible)
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


def _lock(session: Session, ids: list[int]) -> dict[int, Ticket]:
    """Lock tickets FOR UPDATE in ascending id order (two merges A→B and B→A queue instead of deadlocking);
    if they still deadlock with a writer that locked in another order, the loser gets a 409, not a 500."""
    stmt = (
        select(Ticket)
        .where(Ticket.id.in_(ids))
        .order_by(Ticket.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    try:
        return {t.id: t for t in session.scalars(stmt)}
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) not in (DEADLOCK, LOCK_NOT_AVAILABLE):
            raise
        raise Conflict(
            f"工单 {', '.join(map(str, ids))} 正被同时处理 / ticket(s) {ids} are being changed at the same moment; "
            "try again",
            detail={"tickets": ids},
        ) from exc


def _lock_pair(session: Session, ticket_id: int, into_id: int) -> Ticket | None:
    """Lock the duplicate and the merge target together; the target, if it exists."""
    return _lock(session, sorted({ticket_id, into_id})).get(into_id)


def _nearby(session: Session, ticket_id: int, target: Ticket) -> bool:
    """The target is a duplicate candidate of the ticket: same category, within the dedupe radius."""
    source = aliased(Ticket)
    close = func.ST_DWithin(func.Geography(source.geom), func.Geography(Ticket.geom), load_config().dedupe_radius_m)
    stmt = select(close).where(source.id == ticket_id, Ticket.id == target.id, source.category == Ticket.category)
    return bool(session.scalar(stmt))


def _target(session: Session, ticket_id: int, target: Ticket | None, into_id: int, user: User | None) -> Ticket:
    """The merge target if `user` may merge into it: a ticket they may see, or one offered as a duplicate
    (same category, nearby) — a resident merges into a neighbour's report without reading it."""
    if target is None or (
        user is not None and not access.can_see(session, user, target) and not _nearby(session, ticket_id, target)
    ):
        # one answer for "no such ticket" and "not yours": ids outside your jurisdiction stay unknown
        raise NotFound(f"合并目标工单不存在 / no ticket {into_id} to merge into")
    return target


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
    target = _target(session, ticket_id, _lock_pair(session, ticket_id, into_id), into_id, user)
    for _ in range(10):  # follow a chain of merges to the surviving ticket
        if target.merged_into_id is None:
            break
        nxt = _lock(session, [target.merged_into_id]).get(target.merged_into_id)
        target = _target(session, ticket_id, nxt, into_id, user)
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
        # no reporter name: the target's reporter reads this event (the duplicate's reporter is someone else)
        payload={"ticket_id": merged.id, "channel": merged.channel},
        at=now,
    )
    if merged.reporter_id is not None or merged.reporter_phone:
        events.notify_reporters(session, merged, "merged", at=now, ticket_id=target.id)
    session.flush()
    return merged
