"""Check-ins at compounds, the 五必查 answers of a visit, and households visited (四必到).

A "problem" answer becomes a ticket in the same transaction through the one intake service
(gis.tickets.intake.create_ticket, channel "patrol"): category from the checklist item, point from the
patrol's last good fix. Replays of a check-in (patrol, client_key) or of an answer set (visit,
client_key) return the first answer and create nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.access import area_codes
from gis.crs import to_wgs84
from gis.errors import Forbidden, InvalidInput, NotFound
from gis.models import Compound, User
from gis.patrol import access
from gis.patrol.config import load_config
from gis.patrol.models import HouseholdVisit, MustVisitHousehold, PatrolAnswer, PatrolVisit
from gis.patrol.patrols import own_patrol
from gis.spatial import COVERING_CELL_SQL, POINT_SQL, at_param, covering_sql
from gis.tickets import idempotency
from gis.tickets.intake import TicketDraft, create_ticket

# the compound covering a point and the cell version in force at :at (the one by-location rule, gis.spatial)
_PLACE = text(
    f"""
SELECT (SELECT k.code FROM ({covering_sql("compounds", "p.pt")}) AS k),
       (SELECT c.code FROM ({COVERING_CELL_SQL.format(point="p.pt")}) AS c)
FROM (SELECT {POINT_SQL} AS pt) AS p
"""
).bindparams(at_param())


def check_in(
    session: Session,
    user: User,
    patrol_id: int,
    *,
    client_key: str,
    lon: float,
    lat: float,
    t: datetime,
    crs: str = "wgs84",
    compound_code: str | None = None,
    households: list[int] | None = None,
) -> PatrolVisit:
    """Record a visit to a compound (named, or the one covering the point); idempotent on client_key."""
    patrol = own_patrol(session, user, patrol_id)
    if t.tzinfo is None:
        raise InvalidInput("t must carry a timezone (e.g. +08:00)")
    existing = session.scalar(
        select(PatrolVisit).where(PatrolVisit.patrol_id == patrol.id, PatrolVisit.client_key == client_key)
    )
    if existing is not None:
        return existing
    x, y = to_wgs84(lon, lat, crs)
    covering, cell = session.execute(_PLACE, {"lon": x, "lat": y, "at": t}).one()
    code = compound_code or covering
    if compound_code is not None:
        access.compound(session, compound_code)  # 404 for an unknown code
    visit = PatrolVisit(
        patrol_id=patrol.id,
        user_id=user.id,
        client_key=client_key,
        compound_code=code,
        cell_code=cell,
        t=t,
        geom=f"SRID=4326;POINT({x} {y})",
    )
    session.add(visit)
    session.flush()
    if households:
        record_households(session, user, visit, households)
    return visit


def record_households(session: Session, user: User, visit: PatrolVisit, ids: list[int]) -> None:
    """四必到: households visited at this check-in (each must be in the worker's cells)."""
    rows = dict(
        session.execute(
            select(MustVisitHousehold.id, MustVisitHousehold.cell_code).where(MustVisitHousehold.id.in_(ids))
        )
        .tuples()
        .all()
    )
    missing = sorted(set(ids) - set(rows))
    if missing:
        raise NotFound(f"no must-visit household {missing}")
    scope = area_codes(session, user)
    outside = sorted(i for i, cell in rows.items() if not access.under(cell, scope))
    if outside:
        raise Forbidden(f"households {outside} are not in your cells")
    session.execute(
        insert(HouseholdVisit)
        .values([{"visit_id": visit.id, "household_id": i, "at": visit.t} for i in sorted(set(ids))])
        .on_conflict_do_nothing(constraint="uq_household_visit")
    )


def _own_visit(session: Session, user: User, visit_id: int) -> PatrolVisit:
    visit = session.get(PatrolVisit, visit_id)
    if visit is None:
        raise NotFound(f"没有到访记录 {visit_id} / no visit {visit_id}")
    if visit.user_id != user.id:
        raise Forbidden("这不是您的到访记录 / this visit belongs to someone else")
    return visit


def _last_good_point(session: Session, visit: PatrolVisit) -> tuple[float, float]:
    """The patrol's last unflagged fix, else the check-in's own point."""
    row = session.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom) FROM patrol_fixes WHERE patrol_id = :p AND flags = 0 ORDER BY t DESC LIMIT 1"
        ),
        {"p": visit.patrol_id},
    ).first()
    if row is None:
        row = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM patrol_visits WHERE id = :v"), {
            "v": visit.id}).one()  # fmt: skip
    return float(row[0]), float(row[1])


def answer_checklist(
    session: Session, user: User, visit_id: int, *, client_key: str, answers: list[dict[str, Any]]
) -> dict[str, Any]:
    """Store the 五必查 answers of a visit; each "problem" becomes one ticket → {"tickets": [{item, ticket_id}]}."""
    visit = _own_visit(session, user, visit_id)
    scope = f"visit:{visit.id}"
    stored = idempotency.claim_key(session, scope, client_key, answers)
    if stored is not None:
        return stored
    cfg = load_config()
    subdistrict = None
    if visit.compound_code is not None:
        cid = session.scalar(select(Compound.community_id).where(Compound.code == visit.compound_code))
        subdistrict = access.subdistrict_of_community(session, cid) if cid is not None else None
    items = [cfg.item(str(a["item"]), subdistrict) for a in answers]
    if len({i.code for i in items}) != len(items):
        raise InvalidInput("each checklist item may be answered once per visit")
    answered = set(session.scalars(select(PatrolAnswer.item).where(PatrolAnswer.visit_id == visit.id)))
    again = sorted(i.code for i in items if i.code in answered)
    if again:
        raise InvalidInput(f"already answered at this visit: {again}")
    tickets: list[dict[str, Any]] = []
    point: tuple[float, float] | None = None
    for item, a in zip(items, answers, strict=True):
        if a.get("status") not in ("ok", "problem"):
            raise InvalidInput(f"status of {item.code} must be 'ok' or 'problem'")
        ticket_id = None
        if a["status"] == "problem":
            point = point or _last_good_point(session, visit)
            note = (a.get("note") or "").strip()
            result = create_ticket(
                session,
                TicketDraft(
                    category=item.category,
                    description=f"巡查发现（{item.label}）：{note or item.label}",
                    lon=point[0],
                    lat=point[1],
                    channel="patrol",
                    photo_ids=list(a.get("photo_ids") or []),
                    attributes={"patrol_id": visit.patrol_id, "visit_id": visit.id, "checklist_item": item.code},
                ),
                user=user,
                client_key=f"{client_key}:{item.code}",
                key_scope=f"{scope}:tickets",
            )
            ticket_id = result.ticket.id
            tickets.append({"item": item.code, "ticket_id": ticket_id})
        session.add(
            PatrolAnswer(
                visit_id=visit.id,
                item=item.code,
                status=a["status"],
                note=a.get("note"),
                photo_ids=list(a.get("photo_ids") or []),
                ticket_id=ticket_id,
            )
        )
    session.flush()
    response = {"visit_id": visit.id, "tickets": tickets}
    idempotency.remember(session, scope, client_key, response)
    return response
