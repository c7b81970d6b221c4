"""Intake (点单) from every channel: check, place, anchor, route, start the SLA clock, audit.

One function, `create_ticket`, serves the resident page, grid workers, the 12345 import, the
property company's 400 line and Open311, so every ticket is born the same way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.crs import to_wgs84
from gis.errors import Forbidden, InvalidInput
from gis.locate import point_sql
from gis.models import User, utcnow
from gis.tickets import dedupe, escalation, events, idempotency, routing, sla, workflow
from gis.tickets.config import load_config
from gis.tickets.models import CHANNELS, Attachment, Ticket

STAFF_ROLES = frozenset({"admin", "manager", "grid_worker", "department", "planner"})
PUBLIC_CHANNELS = frozenset({"resident", "open311"})
MAX_DESCRIPTION = 4000


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


def _check(draft: TicketDraft, user: User | None) -> None:
    load_config().category(draft.category)  # unknown category → 422 listing the known ones
    if not draft.description or not draft.description.strip():
        raise InvalidInput("请描述问题 / description is required")
    if len(draft.description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description is longer than {MAX_DESCRIPTION} characters")
    if draft.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {draft.channel!r}; use one of {', '.join(CHANNELS)}")
    if draft.urgency not in ("normal", "urgent"):
        raise InvalidInput("urgency must be 'normal' or 'urgent'")
    staff = user is not None and user.role in STAFF_ROLES
    if not staff:
        if draft.channel not in PUBLIC_CHANNELS:
            raise Forbidden(f"channel {draft.channel!r} is for staff; residents report through 'resident'")
        if draft.tier is not None:
            raise Forbidden("时限等级由工作人员确定 / only staff may set the SLA tier")
    if user is None and draft.channel == "resident" and not (draft.reporter_name and draft.reporter_phone):
        raise InvalidInput(
            "匿名上报须留姓名和电话 / public reports need reporter_name and reporter_phone so we can call back "
            "(or log in)"
        )


def _place(session: Session, draft: TicketDraft) -> tuple[float, float, str]:
    """WGS84 point from coordinates, else a photo's EXIF location, else a compound named in the address."""
    if (draft.lon is None) != (draft.lat is None):
        raise InvalidInput("give both lon and lat, or neither")
    if draft.lon is not None and draft.lat is not None:
        lon, lat = to_wgs84(draft.lon, draft.lat, draft.crs)
        return lon, lat, str(draft.crs).lower()
    if draft.photo_ids:
        row = session.execute(
            select(Attachment.exif_lon, Attachment.exif_lat)
            .where(Attachment.id.in_(draft.photo_ids), Attachment.exif_lon.is_not(None))
            .order_by(Attachment.id)
            .limit(1)
        ).first()
        if row is not None and row[0] is not None and row[1] is not None:
            return float(row[0]), float(row[1]), "exif"
    if draft.address:
        hit = routing.geocode_address(session, draft.address)
        if hit is not None:
            return hit[0], hit[1], "address"
        raise InvalidInput(
            f"无法根据地址定位 / cannot place the address {draft.address!r}: give lon/lat (or a photo with GPS)",
            detail={"address": draft.address},
        )
    raise InvalidInput("缺少位置 / missing point: give lon and lat (and crs), a geotagged photo, or an address")


def _attach_photos(session: Session, ticket: Ticket, photo_ids: list[int], user: User | None) -> None:
    if not photo_ids:
        return
    photos = list(session.scalars(select(Attachment).where(Attachment.id.in_(photo_ids))))
    missing = sorted(set(photo_ids) - {p.id for p in photos})
    if missing:
        raise InvalidInput(f"照片不存在 / no uploaded photo with id {missing}")
    for p in photos:
        if p.ticket_id not in (None, ticket.id):
            raise InvalidInput(f"photo {p.id} belongs to another ticket")
        if user is not None and p.uploaded_by_id not in (None, user.id) and user.role == "resident":
            raise Forbidden(f"photo {p.id} was uploaded by someone else")
        p.ticket_id = ticket.id


def create_ticket(
    session: Session,
    draft: TicketDraft,
    *,
    user: User | None,
    label: str | None = None,
    now: datetime | None = None,
    client_key: str | None = None,
    key_scope: str | None = None,
) -> IntakeResult:
    """Create one ticket: anchored, routed, with its SLA clock and its first event."""
    now = now or utcnow()
    scope = key_scope or (f"user:{user.id}" if user else f"public:{draft.reporter_phone or ''}")
    if client_key is not None:
        stored = idempotency.claim_key(session, scope, client_key, draft.body())
        if stored is not None:
            ticket = session.get(Ticket, stored["ticket_id"])
            if ticket is not None:
                return IntakeResult(ticket, [], stored.get("route_reason", ""), replayed=True)
    _check(draft, user)
    cfg = load_config()
    category = cfg.category(draft.category)
    lon, lat, source = _place(session, draft)
    anchor = routing.anchor_point(session, lon, lat)
    route = routing.route(session, cfg, category, anchor)
    tier = cfg.tier(route.profile, category, draft.tier)
    opened = draft.opened_at or now
    if opened.tzinfo is None:
        raise InvalidInput("opened_at must carry a timezone (e.g. +08:00)")
    reporter_name: str | None
    if user is not None and user.role == "resident":
        reporter_name = draft.reporter_name or user.full_name
        reporter_phone = draft.reporter_phone or user.phone
    else:
        reporter_name, reporter_phone = draft.reporter_name, draft.reporter_phone
    ticket = Ticket(
        token=secrets.token_urlsafe(16)[:22],
        category=category.code,
        description=draft.description.strip(),
        address=draft.address,
        geom=point_sql(lon, lat),
        source_crs=source,
        channel=draft.channel,
        external_id=draft.external_id,
        urgency=draft.urgency,
        state="reported",
        cell_code=anchor.cell_code,
        cell_version_id=anchor.cell_id,
        community_code=anchor.community_code,
        compound_code=anchor.compound_code,
        unit_id=route.unit_id,
        unit_type=route.unit_type,
        reporter_id=user.id if user is not None and user.role == "resident" else None,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        created_by_id=user.id if user is not None and user.role != "resident" else None,
        sla_profile=route.profile.code,
        tier=tier.code,
        opened_at=opened,
        resolve_due_at=sla.due_after(tier.resolve, opened),
        attributes=draft.attributes,
        created_at=now,
        updated_at=now,
    )
    ticket.due_stage, ticket.due_at = sla.due_for_state(
        route.profile, tier, "reported", now=opened, resolve_due_at=ticket.resolve_due_at
    )
    session.add(ticket)
    session.flush()
    _attach_photos(session, ticket, draft.photo_ids, user)
    events.record(
        session,
        ticket,
        "created",
        user=user,
        label=label,
        to_state="reported",
        note=cfg.templates.get("received"),
        payload={
            "channel": draft.channel,
            "cell_code": anchor.cell_code,
            "compound_code": anchor.compound_code,
            "unit_id": route.unit_id,
            "unit_name": route.unit_name,
            "route": route.reason,
            "sla_profile": route.profile.code,
            "tier": tier.code,
            "source_crs": source,
        },
        at=opened,
    )
    duplicates = dedupe.find_duplicates(session, category=category.code, lon=lon, lat=lat, exclude_id=ticket.id)
    if draft.merge_into is not None:
        dedupe.merge(session, ticket.id, draft.merge_into, user=user, now=now)
    elif tier.escalate == "immediate":
        _escalate_at_once(session, ticket, now=opened)
    if client_key is not None:
        idempotency.remember(session, scope, client_key, {"ticket_id": ticket.id, "route_reason": route.reason})
    return IntakeResult(ticket, duplicates, route.reason)


def _escalate_at_once(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """重大风险 包案提级: accepted and escalated on entry, without waiting for a dispatcher."""
    label = "包案提级 (重大风险, automatic)"
    workflow.transition(session, ticket.id, "accept", user=None, label=label, now=now)
    try:
        escalation.escalate(session, ticket.id, user=None, label=label, note="重大风险隐患 包案提级", now=now)
    except InvalidInput:
        # no department of the configured types exists: the ticket stays accepted for a dispatcher
        events.record(session, ticket, "escalation_skipped", user=None, label=label, public=False, at=now)
