"""The append-only audit trail (ticket_events), and the notifications an event writes (gis.notify)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from gis.models import User, utcnow
from gis.notify import ticket_events
from gis.tickets.models import Ticket, TicketEvent


def actor_label(user: User | None, fallback: str = "system") -> str:
    if user is None:
        return fallback
    return f"{user.full_name} ({user.username}, {user.role})"


def role_label(role: str | None) -> str:
    """Who acted, as a resident may read it: the role, never the name or login of another person."""
    if role == "resident":
        return "居民 / resident"
    return "工作人员 / staff" if role is not None else "system"


def record(
    session: Session,
    ticket: Ticket,
    action: str,
    *,
    user: User | None,
    label: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    public: bool = True,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Append one event; events are never updated or deleted (the database refuses it too)."""
    event = TicketEvent(
        ticket_id=ticket.id,
        at=at or utcnow(),
        actor_id=user.id if user is not None else None,
        actor_label=label or actor_label(user),
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        public=public,
        payload=payload or {},
    )
    session.add(event)
    return event


def purge_events(session: Session, ticket_ids: Any) -> None:
    """Delete the audit trail of tickets that are themselves being deleted (demo reload, benches, tests).

    The trail is append-only by a trigger that no session setting bypasses; only the table's owner can switch it
    off, here for this transaction alone (ALTER TABLE locks ticket_events until commit)."""
    session.execute(text("ALTER TABLE ticket_events DISABLE TRIGGER ticket_events_append_only"))
    session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)))
    session.execute(text("ALTER TABLE ticket_events ENABLE TRIGGER ticket_events_append_only"))


def history(session: Session, ticket_id: int, *, include_internal: bool = True) -> list[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if not include_internal:
        stmt = stmt.where(TicketEvent.public.is_(True))
    return list(session.scalars(stmt.order_by(TicketEvent.at, TicketEvent.id)))


def notify_reporters(session: Session, ticket: Ticket, kind: str, *, at: datetime | None = None, **params: Any) -> int:
    """Tell the reporter of a ticket and of every ticket merged into it (outbox rows, this transaction)."""
    return ticket_events.ticket_event(session, ticket, kind, at=at, with_reporters=True, **params)


def notify_unit(
    session: Session,
    ticket: Ticket,
    organization_ids: list[int],
    kind: str,
    *,
    at: datetime | None = None,
    **params: Any,
) -> int:
    """Tell the users of the handling (or called) organisations, and whoever else the rules name for `kind`."""
    return ticket_events.ticket_event(session, ticket, kind, at=at, organization_ids=organization_ids, **params)
