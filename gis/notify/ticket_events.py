"""Ticket events as notifications: the parameters every ticket template may use (link, deadline, 地址 …), the
reporters of a ticket and of the duplicates merged into it, and one call per event for the workflow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import Compound, utcnow
from gis.notify.config import NotifyConfig, load_config
from gis.notify.emit import SHANGHAI, Event, Reporter, emit, rows_for
from gis.settings import get_settings
from gis.tickets.config import load_config as ticket_config
from gis.tickets.models import Ticket

STAGE_LABELS = {"accept": "立案", "dispatch": "派单", "claim": "接单", "resolve": "办结", "verify": "核查"}


def link_base(cfg: NotifyConfig) -> str:
    return (cfg.link_base or get_settings().maps.public_base_url).rstrip("/")


def _local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def ticket_params(session: Session, ticket: Ticket, cfg: NotifyConfig) -> dict[str, Any]:
    category = ticket_config().categories.get(ticket.category)
    address = ticket.address
    if not address and ticket.compound_code:
        address = session.scalar(select(Compound.name).where(Compound.code == ticket.compound_code))
    base = link_base(cfg)
    return {
        "ticket_id": ticket.id,
        "category": category.label if category else ticket.category,
        "address": address or f"网格 {ticket.cell_code}",
        "deadline": _local(ticket.resolve_due_at or ticket.due_at),
        "stage": STAGE_LABELS.get(ticket.due_stage or "", ticket.due_stage or ""),
        "link": f"{base}/maps/tickets/{ticket.id}",
        "rate_link": f"{base}/v1/tickets/{ticket.id}/rating?token={ticket.token}",
    }


def reporters(session: Session, ticket: Ticket) -> list[Reporter]:
    """The reporter of the ticket and of every ticket merged into it, each once."""
    merged = list(session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id)))
    seen: set[tuple[int | None, str | None]] = set()
    out = []
    for t in [ticket, *merged]:
        key = (t.reporter_id, t.reporter_phone)
        if key == (None, None) or key in seen:
            continue
        seen.add(key)
        out.append(Reporter(t.reporter_id, t.reporter_phone, t.channel, bool(t.notify_opt_out)))
    return out


def _event(
    session: Session,
    ticket: Ticket,
    name: str,
    cfg: NotifyConfig,
    at: datetime,
    *,
    organization_ids: Sequence[int] = (),
    reporter_list: Sequence[Reporter] = (),
    occurrence: str | None = None,
    params: dict[str, Any] | None = None,
) -> Event:
    ev = Event(
        name=name,
        occurrence=occurrence or f"t{ticket.id}:{at.isoformat()}",
        params={**ticket_params(session, ticket, cfg), **(params or {})},
        place_code=ticket.cell_code,
        ticket_id=ticket.id,
        urgent=ticket.tier in cfg.urgent_tiers or ticket.urgency == "urgent",
        organization_ids=organization_ids or ([ticket.unit_id] if ticket.unit_id else []),
        area_codes=[c for c in (ticket.cell_code, ticket.compound_code) if c],
        reporters=reporter_list,
        compound_code=ticket.compound_code,
    )
    ev.link = ev.params["link"]
    return ev


def ticket_event(
    session: Session,
    ticket: Ticket,
    name: str,
    *,
    at: datetime | None = None,
    organization_ids: Sequence[int] = (),
    with_reporters: bool = False,
    occurrence: str | None = None,
    **params: Any,
) -> int:
    """Write the notifications of one ticket event (same transaction as the event)."""
    cfg = load_config()
    if not cfg.rules_for(name):
        return 0
    at = at or utcnow()
    ev = _event(session, ticket, name, cfg, at, organization_ids=organization_ids, occurrence=occurrence,
                reporter_list=reporters(session, ticket) if with_reporters else (), params=params)  # fmt: skip
    return emit(session, ev, now=at, cfg=cfg)


# Intake writes the 受理 receipt in its own single statement (gis.tickets.intake._CREATE), before the ticket has
# an id: the row is rendered with this stand-in for the id, which the statement replaces with the new one.
ID_STAND_IN = 987_654_321_987


def receipt_row(session: Session, values: dict[str, Any], *, at: datetime) -> dict[str, Any] | None:
    """受理: the SMS receipt row for a new ticket's phone reporter (None when it gets none), id stood in for."""
    cfg = load_config()
    phone, channel = values.get("reporter_phone"), values.get("channel")
    if not phone or channel not in cfg.sms_receipt_channels or not cfg.rules_for("received"):
        return None
    ticket = cast(Ticket, SimpleNamespace(**values, id=ID_STAND_IN))
    ev = _event(session, ticket, "received", cfg, at, occurrence=f"t{ID_STAND_IN}",
                reporter_list=[Reporter(values.get("reporter_id"), phone, channel, False)])  # fmt: skip
    return next((r for r in rows_for(session, ev, now=at, cfg=cfg) if r["channel"] == "sms"), None)
