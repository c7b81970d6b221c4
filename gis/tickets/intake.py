"""Intake (点单) from every channel: check, place, anchor, route, start the SLA clock, audit.

One function, `create_ticket`, serves the resident page, grid workers, the 12345 import, the
property company's 400 line and Open311, so every ticket is born the same way.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.types import Boolean, DateTime, Float, Integer, String

from gis.crs import to_wgs84
from gis.errors import InvalidInput, NotFound
from gis.models import User, utcnow
from gis.notify import ticket_events
from gis.spatial import COVERING_CELL_SQL, POINT_SQL, at_param, covering_sql, outside_service_area
from gis.tickets import dedupe, escalation, events, idempotency, intake_rules, routing, sla, workflow
from gis.tickets import photos as photo_store
from gis.tickets.config import Category, TicketConfig, load_config
from gis.tickets.models import Attachment, Ticket


@dataclass
class TicketDraft:
    category: str
    description: str
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    channel: str = "resident"
    urgency: str = "normal"
    tier: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    external_id: str | None = None
    opened_at: datetime | None = None
    photo_ids: list[int] = field(default_factory=list)
    photo_tokens: list[str] = field(default_factory=list)  # upload tokens of anonymous uploads (photos.upload_token)
    attributes: dict[str, Any] = field(default_factory=dict)
    merge_into: int | None = None

    def body(self) -> dict[str, Any]:
        """What identifies the request for idempotency checks."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], {})}


@dataclass
class IntakeResult:
    ticket: Ticket
    duplicates: list[dict[str, Any]]
    route_reason: str
    replayed: bool = False
    unit_name: str | None = None  # name of the unit routed to (known on creation; None on replay)


# Intake runs two statements per ticket, both text() built once per process (no statement building and
# compiling per call; psycopg prepares them after a few runs):
#
# _LOOKUP, one round trip, reads what `routing.anchor_point` (the live cell by the by-location rule of
# gis.spatial, its community, the compound covering the point and its property company), `routing.route`
# (that property company, the category's department: lowest code) and `dedupe.find_duplicates` (open
# tickets of the category within the radius, nearest first) read one by one; tests/tickets/test_intake_fast.py
# checks that both ways agree.
_LOOKUP = text(
    f"""
SELECT c.id, c.code, a.code, cp.code, cp.property_company_id,
       pc.id, pc.name, pc.code, pc.kind, pc.unit_type,
       d.id, d.name, d.code, d.kind, d.unit_type,
       dup.ids, dup.states, dup.descriptions, dup.opened, dup.distances
FROM (SELECT {POINT_SQL} AS pt) AS p
LEFT JOIN LATERAL ({COVERING_CELL_SQL.format(point="p.pt")} FOR SHARE) AS c ON true
LEFT JOIN admin_areas AS a ON a.id = c.community_id
LEFT JOIN LATERAL ({covering_sql("compounds", "p.pt")}) AS cp ON true
LEFT JOIN organizations AS pc ON :want_property AND pc.id = cp.property_company_id
LEFT JOIN LATERAL (
    SELECT o.id, o.name, o.code, o.kind, o.unit_type FROM organizations AS o
    WHERE o.unit_type = :unit_type AND o.kind = 'department' AND o.is_active
    ORDER BY o.code LIMIT 1
) AS d ON true
LEFT JOIN LATERAL (
    SELECT array_agg(s.id ORDER BY s.distance_m, s.id) AS ids,
           array_agg(s.state ORDER BY s.distance_m, s.id) AS states,
           array_agg(s.description ORDER BY s.distance_m, s.id) AS descriptions,
           array_agg(s.opened_at ORDER BY s.distance_m, s.id) AS opened,
           array_agg(s.distance_m ORDER BY s.distance_m, s.id) AS distances
    FROM (
        SELECT t.id, t.state, t.description, t.opened_at,
               ST_Distance(Geography(t.geom), Geography(p.pt)) AS distance_m
        FROM tickets AS t
        WHERE c.id IS NOT NULL
          AND t.category = :category
          AND t.state <> ALL(:terminal)
          AND t.geom && ST_Expand(p.pt, :dx, :dy)
          AND ST_DWithin(Geography(t.geom), Geography(p.pt), :radius)
        ORDER BY distance_m, t.id
        LIMIT :lim
    ) AS s
) AS dup ON true
"""
).bindparams(
    bindparam("lon", type_=Float()),
    bindparam("lat", type_=Float()),
    bindparam("want_property", type_=Boolean()),
    bindparam("unit_type", type_=String()),
    bindparam("category", type_=String()),
    bindparam("terminal", type_=ARRAY(String())),
    bindparam("dx", type_=Float()),
    bindparam("dy", type_=Float()),
    bindparam("radius", type_=Float()),
    bindparam("lim", type_=Integer()),
    at_param(),  # intake anchors to the live cells
)

# _CREATE, one round trip: the ticket row, its "created" event and (with a client key) the stored answer of
# the idempotency key — what an ORM flush of Ticket, the event and `idempotency.remember` wrote in three.
# The ticket's columns come from the model: every one but `id` is bound from the row `create_ticket` builds
# (its `values` plus `_AT_BIRTH`), `geom` from :lon/:lat; a new Ticket column is one more key there.
_AT_BIRTH: dict[str, Any] = {
    "state_before_suspend": None,
    "merged_into_id": None,
    "resolved_by_id": None,
    "suspended_at": None,
    "overdue": False,
    "resolved_at": None,
    "closed_at": None,
    "reopen_count": 0,
    "notify_opt_out": False,
}
_TICKET_COLUMNS = [c for c in Ticket.__table__.columns if c.key != "id"]


_RECEIPT_TEXT = ("r_key", "r_id", "r_street", "r_address", "r_title", "r_body", "r_link", "r_data")


def _create_sql() -> TextClause:
    names = ", ".join(c.name for c in _TICKET_COLUMNS)
    values = ", ".join(POINT_SQL if c.key == "geom" else f":{c.key}" for c in _TICKET_COLUMNS)
    return text(
        f"""
WITH t AS (
    INSERT INTO tickets ({names})
    VALUES ({values})
    RETURNING id
), e AS (
    INSERT INTO ticket_events (ticket_id, at, actor_id, actor_label, action, from_state, to_state, note, public,
        payload)
    SELECT t.id, :event_at, :actor_id, :actor_label, 'created', NULL, :state, :note, true, :payload FROM t
), k AS (
    UPDATE idempotency_keys SET response = jsonb_build_object('ticket_id', t.id, 'route_reason', :route_reason)
    FROM t WHERE idempotency_keys.scope = :key_scope AND idempotency_keys.key = :client_key
), r AS (  -- 受理: the phone reporter's SMS receipt (gis.notify), rendered before the id was known
    INSERT INTO notify_messages (key, event, channel, street_code, ticket_id, address, title, body, link, data,
        urgent, status, attempts, next_attempt_at, created_at)
    SELECT replace(CAST(:r_key AS text), :r_id, t.id::text), 'received', 'sms', CAST(:r_street AS text), t.id,
        CAST(:r_address AS text), replace(CAST(:r_title AS text), :r_id, t.id::text),
        replace(CAST(:r_body AS text), :r_id, t.id::text), replace(CAST(:r_link AS text), :r_id, t.id::text),
        CAST(replace(CAST(:r_data AS text), :r_id, t.id::text) AS jsonb), CAST(:r_urgent AS boolean), 'queued', 0,
        CAST(:r_due AS timestamptz), CAST(:r_at AS timestamptz)
    FROM t WHERE CAST(:r_key AS text) IS NOT NULL
    ON CONFLICT (key) DO NOTHING
)
SELECT id FROM t
"""
    ).bindparams(
        *(bindparam(c.key, type_=c.type) for c in _TICKET_COLUMNS if c.key != "geom"),
        bindparam("lon", type_=Float()),
        bindparam("lat", type_=Float()),
        bindparam("actor_id", type_=Integer()),
        bindparam("event_at", type_=DateTime(timezone=True)),
        bindparam("payload", type_=JSONB()),
        *(bindparam(n, type_=String()) for n in ("note", "actor_label", "route_reason", "key_scope", "client_key")),
        *(
            bindparam(f"r_{n}", type_=String())
            for n in ("key", "id", "street", "address", "title", "body", "link", "data")
        ),
        bindparam("r_urgent", type_=Boolean()),
        bindparam("r_due", type_=DateTime(timezone=True)),
        bindparam("r_at", type_=DateTime(timezone=True)),
    )


_CREATE = _create_sql()


def lookup(
    session: Session,
    cfg: TicketConfig,
    category: Category,
    lon: float,
    lat: float,
    *,
    limit: int = 5,
    retry: bool = True,
) -> tuple[routing.Anchor, routing.Route, list[dict[str, Any]]]:
    """Anchor, route and duplicate candidates of a new ticket at (lon, lat) in one round trip.

    The covering cell version is locked FOR SHARE until the transaction ends, so a plan commit cannot close it
    (and re-anchor the tickets it knows of) while this ticket, anchored to it, is not yet committed: the
    commit waits, then re-anchors this ticket too."""
    radius = cfg.dedupe_radius_m
    dx, dy = dedupe.prefilter_box(radius, lat)
    row = session.execute(
        _LOOKUP,
        {
            "lon": lon,
            "lat": lat,
            "want_property": category.property,
            "unit_type": None if category.unit_type == "community" else category.unit_type,
            "category": category.code,
            "terminal": sorted(workflow.TERMINAL),
            "dx": dx,
            "dy": dy,
            "radius": radius,
            "lim": limit,
        },
    ).one()
    if row[0] is None and retry:
        # A plan commit may have closed the covering version while this statement waited for its lock (the
        # row then drops out, and the new version is newer than this statement's snapshot): look again.
        return lookup(session, cfg, category, lon, lat, limit=limit, retry=False)
    if row[0] is None:
        raise outside_service_area(lon, lat)
    anchor = routing.Anchor(row[0], row[1], row[2], row[3], row[4])
    property_org = routing.OrgRef(row[5], row[6], row[7], row[8], row[9]) if row[5] is not None else None
    department = routing.OrgRef(row[10], row[11], row[12], row[13], row[14]) if row[10] is not None else None
    route = routing.decide_route(cfg, category, anchor, property_org, department)
    duplicates = (
        [dedupe.candidate(*c) for c in zip(row[15], row[16], row[17], row[18], row[19], strict=True)] if row[15] else []
    )
    return anchor, route, duplicates


def _place(draft: TicketDraft, photos: list[Attachment], session: Session) -> tuple[float, float, str]:
    """WGS84 point from coordinates, else the EXIF location of one of the caller's photos, else a compound
    named in the address."""
    if (draft.lon is None) != (draft.lat is None):
        raise InvalidInput("give both lon and lat, or neither")
    if draft.lon is not None and draft.lat is not None:
        lon, lat = to_wgs84(draft.lon, draft.lat, draft.crs)
        return lon, lat, str(draft.crs).lower()
    for p in photos:
        if p.exif_lon is not None and p.exif_lat is not None:
            return float(p.exif_lon), float(p.exif_lat), "exif"
    if draft.address:
        hit = routing.geocode_address(session, draft.address)
        if hit is not None:
            return hit[0], hit[1], "address"
        raise InvalidInput(
            f"无法根据地址定位 / cannot place the address {draft.address!r}: give lon/lat (or a photo with GPS)",
            detail={"address": draft.address},
        )
    raise InvalidInput("缺少位置 / missing point: give lon and lat (and crs), a geotagged photo, or an address")


def create_ticket(
    session: Session,
    draft: TicketDraft,
    *,
    user: User | None,
    label: str | None = None,
    now: datetime | None = None,
    client_key: str | None = None,
    key_scope: str | None = None,
    open311_client: bool = False,
) -> IntakeResult:
    """Create one ticket: anchored, routed, with its SLA clock and its first event.

    `open311_client`: the caller authenticated with an Open311 api_key (channel "open311" without a login)."""
    now = now or utcnow()
    scope = key_scope or (f"user:{user.id}" if user else f"public:{draft.reporter_phone or ''}")
    if client_key is not None:
        stored = idempotency.claim_key(session, scope, client_key, draft.body())
        if stored is not None:
            ticket = session.get(Ticket, stored["ticket_id"])
            if ticket is not None:
                return IntakeResult(ticket, [], stored.get("route_reason", ""), replayed=True)
    intake_rules.check(draft, user, open311_client=open311_client, now=now)
    cfg = load_config()
    category = cfg.category(draft.category)
    photos = photo_store.claim(session, draft.photo_ids, draft.photo_tokens, user=user)
    lon, lat, source = _place(draft, photos, session)
    if draft.external_id is not None:
        intake_rules.check_external_id(session, draft.channel, draft.external_id)
    anchor, route, duplicates = lookup(session, cfg, category, lon, lat)
    tier = cfg.tier(route.profile, category, draft.tier)
    opened = draft.opened_at or now
    reporter_name: str | None
    if user is not None and user.role == "resident":
        reporter_name = draft.reporter_name or user.full_name
        reporter_phone = draft.reporter_phone or user.phone
    else:
        reporter_name, reporter_phone = draft.reporter_name, draft.reporter_phone
    resolve_due_at = sla.due_after(tier.resolve, opened)
    due_stage, due_at = sla.due_for_state(route.profile, tier, "reported", now=opened, resolve_due_at=resolve_due_at)
    values: dict[str, Any] = {
        "token": secrets.token_urlsafe(16)[:22],
        "category": category.code,
        "description": draft.description.strip(),
        "address": draft.address,
        "source_crs": source,
        "channel": draft.channel,
        "external_id": draft.external_id,
        "urgency": draft.urgency,
        "state": "reported",
        "cell_code": anchor.cell_code,
        "cell_version_id": anchor.cell_id,
        "community_code": anchor.community_code,
        "compound_code": anchor.compound_code,
        "unit_id": route.unit_id,
        "unit_type": route.unit_type,
        "reporter_id": user.id if user is not None and user.role == "resident" else None,
        "reporter_name": reporter_name,
        "reporter_phone": reporter_phone,
        "created_by_id": user.id if user is not None and user.role != "resident" else None,
        "sla_profile": route.profile.code,
        "tier": tier.code,
        "opened_at": opened,
        "due_stage": due_stage,
        "due_at": due_at,
        "resolve_due_at": resolve_due_at,
        "attributes": draft.attributes,
        "created_at": now,
        "updated_at": now,
    }
    payload = {
        "channel": draft.channel,
        "cell_code": anchor.cell_code,
        "compound_code": anchor.compound_code,
        "unit_id": route.unit_id,
        "unit_name": route.unit_name,
        "route": route.reason,
        "sla_profile": route.profile.code,
        "tier": tier.code,
        "source_crs": source,
    }
    # the ticket, its "created" event (audit) and the idempotency answer in one statement
    params = {
        **values,
        **_AT_BIRTH,
        "lon": lon,
        "lat": lat,
        "event_at": opened,
        "actor_id": user.id if user is not None else None,
        "actor_label": label or events.actor_label(user),
        "note": cfg.templates.get("received"),
        "payload": payload,
        "route_reason": route.reason,
        "key_scope": scope[: idempotency.SCOPE_LEN] if client_key is not None else None,
        "client_key": client_key,
        **_receipt_params(session, values, now),
    }
    try:
        ticket_id = session.execute(_CREATE, params).scalar_one()
    except IntegrityError as exc:  # a concurrent report with the same external id won the race
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) == intake_rules.EXTERNAL_ID_CONSTRAINT:
            raise intake_rules.external_id_taken(draft.channel, draft.external_id) from exc
        raise
    ticket = _persistent_ticket(session, ticket_id, values)
    for p in photos:
        p.ticket_id = ticket.id
    if draft.merge_into is not None:
        if user is None and draft.merge_into not in {d["id"] for d in duplicates}:
            # anonymous: only into a ticket this answer offers as a duplicate (merge() trusts user=None)
            raise NotFound(f"合并目标工单不存在 / no ticket {draft.merge_into} to merge into")
        dedupe.merge(session, ticket.id, draft.merge_into, user=user, now=now)
    elif tier.escalate == "immediate":
        _escalate_at_once(session, ticket, now=opened)
    return IntakeResult(ticket, duplicates, route.reason, unit_name=route.unit_name)


def _receipt_params(session: Session, values: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The r_* parameters of _CREATE: the 受理 SMS row for a phone reporter, or NULLs (no receipt)."""
    row = ticket_events.receipt_row(session, {**values, **_AT_BIRTH}, at=at)
    if row is None:
        return dict.fromkeys((*_RECEIPT_TEXT, "r_urgent", "r_due", "r_at"))
    stand_in = str(ticket_events.ID_STAND_IN)
    return {"r_key": row["key"], "r_id": stand_in, "r_street": row["street_code"], "r_address": row["address"],
            "r_title": row["title"], "r_body": row["body"], "r_link": row["link"],
            "r_data": json.dumps(row["data"], ensure_ascii=False), "r_urgent": row["urgent"],
            "r_due": row["next_attempt_at"], "r_at": at}  # fmt: skip


def _persistent_ticket(session: Session, ticket_id: int, values: dict[str, Any]) -> Ticket:
    """The ORM object of a row just inserted by _CREATE, in the session as if loaded (no second INSERT).

    Every column but `geom` is known; `geom` is left unloaded and read on first access, as after a flush."""
    ticket = Ticket(id=ticket_id, **values, **_AT_BIRTH)
    make_transient_to_detached(ticket)
    session.add(ticket)
    return ticket


def _escalate_at_once(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """重大风险 包案提级: accepted and escalated on entry, without waiting for a dispatcher."""
    label = "包案提级 (重大风险, automatic)"
    workflow.transition(session, ticket.id, "accept", user=None, label=label, now=now)
    try:
        escalation.escalate(session, ticket.id, user=None, label=label, note="重大风险隐患 包案提级", now=now)
    except InvalidInput:
        # no department of the configured types exists: the ticket stays accepted for a dispatcher
        events.record(session, ticket, "escalation_skipped", user=None, label=label, public=False, at=now)
