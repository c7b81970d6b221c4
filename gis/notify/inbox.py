"""Reading the outbox: a user's in-app inbox (unread count, mark read), preferences, a reporter's opt-out of
SMS receipts, and the admins' delivery log (filters, attempts with the channel's answers, resend)."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import User, utcnow
from gis.notify.channels import mask_phone, redact
from gis.notify.config import CHANNELS, EVENTS
from gis.notify.models import STATUSES, NotifyPreference, OutboxAttempt, OutboxMessage
from gis.tickets.models import Ticket

_MINE = (OutboxMessage.channel == "inbox",)


def inbox(
    session: Session, user: User, *, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> tuple[int, int, list[OutboxMessage]]:
    """(unread, matched, page) of the user's in-app messages, newest first."""
    mine = (*_MINE, OutboxMessage.user_id == user.id)
    unread = session.scalar(select(func.count()).where(*mine, OutboxMessage.read_at.is_(None))) or 0
    where = (*mine, OutboxMessage.read_at.is_(None)) if unread_only else mine
    matched = unread if unread_only else session.scalar(select(func.count()).where(*where)) or 0
    rows = session.scalars(
        select(OutboxMessage).where(*where).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    )
    return unread, matched, list(rows)


def unread_count(session: Session, user: User) -> int:
    stmt = select(func.count()).where(*_MINE, OutboxMessage.user_id == user.id, OutboxMessage.read_at.is_(None))
    return session.scalar(stmt) or 0


def mark_read(session: Session, user: User, *, ids: Sequence[int] | None = None, all_: bool = False) -> int:
    """Mark some (or all) of the user's messages read; ids of other users' messages are refused."""
    if not all_ and not ids:
        raise InvalidInput("give ids (a list of message ids) or all=true")
    stmt = update(OutboxMessage).where(*_MINE, OutboxMessage.user_id == user.id, OutboxMessage.read_at.is_(None))
    if not all_:
        ids = list(ids or [])
        owned = set(session.scalars(select(OutboxMessage.id).where(*_MINE, OutboxMessage.user_id == user.id,
                                                                    OutboxMessage.id.in_(ids))))  # fmt: skip
        missing = sorted(set(ids) - owned)
        if missing:
            raise NotFound(f"没有这些通知 / no messages {missing} in your inbox")
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    result = session.execute(stmt.values(read_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def preferences(session: Session, user: User) -> NotifyPreference:
    return session.get(NotifyPreference, user.id) or NotifyPreference(user_id=user.id, muted=[])


def set_preferences(
    session: Session, user: User, *, muted: list[str], quiet_start: time | None, quiet_end: time | None,
    email: str | None,
) -> NotifyPreference:  # fmt: skip
    for m in muted:
        event, _, channel = m.rpartition(":")
        if channel not in CHANNELS or (event and event not in EVENTS):
            raise InvalidInput(f"muted: {m!r} is neither a channel ({', '.join(CHANNELS)}) nor event:channel")
    if (quiet_start is None) != (quiet_end is None):
        raise InvalidInput("quiet hours need both quiet_start and quiet_end (or neither)")
    if email is not None and "@" not in email:
        raise InvalidInput(f"email {email!r} is not an e-mail address")
    pref = session.get(NotifyPreference, user.id)
    if pref is None:
        pref = NotifyPreference(user_id=user.id)
        session.add(pref)
    pref.muted, pref.quiet_start, pref.quiet_end, pref.email = sorted(set(muted)), quiet_start, quiet_end, email
    pref.updated_at = utcnow()
    session.flush()
    return pref


def opt_out(session: Session, ticket_id: int, token: str) -> int:
    """A public reporter stops SMS receipts for a ticket (its token proves it); queued SMS are cancelled."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not hmac.compare_digest(ticket.token, token):
        raise NotFound(f"工单不存在或凭证不符 / no ticket {ticket_id} with this token")
    ticket.notify_opt_out = True
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.ticket_id == ticket_id,
            OutboxMessage.channel == "sms",
            OutboxMessage.address == ticket.reporter_phone,
            OutboxMessage.status == "queued",
        )  # fmt: skip
        .values(status="cancelled", last_error="reporter opted out")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def shown_address(m: OutboxMessage) -> str | None:
    """What the delivery log shows of an address: phones masked, robot keys cut off."""
    if m.channel == "sms":
        return mask_phone(m.address)
    return redact(m.address)


def deliveries(
    session: Session, *, status: str | None = None, channel: str | None = None, event: str | None = None,
    ticket_id: int | None = None, limit: int = 100, offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """The delivery log (not the in-app inbox): newest first, with the last attempt's answer."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    where = [OutboxMessage.channel != "inbox"]
    if status is not None:
        where.append(OutboxMessage.status == status)
    if channel is not None:
        where.append(OutboxMessage.channel == channel)
    if event is not None:
        where.append(OutboxMessage.event == event)
    if ticket_id is not None:
        where.append(OutboxMessage.ticket_id == ticket_id)
    matched = session.scalar(select(func.count()).where(*where)) or 0
    rows = list(
        session.scalars(
            select(OutboxMessage).where(*where).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
        )
    )
    last = _last_attempts(session, [m.id for m in rows])
    return matched, [message_public(m, last.get(m.id)) for m in rows]


def _last_attempts(session: Session, ids: list[int]) -> dict[int, OutboxAttempt]:
    if not ids:
        return {}
    stmt = (
        select(OutboxAttempt)
        .where(OutboxAttempt.message_id.in_(ids))
        .order_by(OutboxAttempt.message_id, OutboxAttempt.id.desc())
        .distinct(OutboxAttempt.message_id)
    )
    return {a.message_id: a for a in session.scalars(stmt)}


def message_public(m: OutboxMessage, last: OutboxAttempt | None = None) -> dict[str, Any]:
    return {
        "id": m.id, "event": m.event, "channel": m.channel, "status": m.status, "to": shown_address(m),
        "user_id": m.user_id, "organization_id": m.organization_id, "ticket_id": m.ticket_id,
        "street_code": m.street_code, "title": m.title, "body": m.body, "link": m.link, "urgent": m.urgent,
        "attempts": m.attempts, "next_attempt_at": m.next_attempt_at, "created_at": m.created_at,
        "delivered_at": m.delivered_at, "last_error": m.last_error,
        "last_answer": last.answer if last is not None else None,
        "last_status_code": last.status_code if last is not None else None,
    }  # fmt: skip


def attempts(session: Session, message_id: int) -> tuple[OutboxMessage, list[OutboxAttempt]]:
    m = session.get(OutboxMessage, message_id)
    if m is None or m.channel == "inbox":
        raise NotFound(f"没有这条投递 / no delivery {message_id}")
    rows = session.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == m.id).order_by(OutboxAttempt.id))
    return m, list(rows)


def resend(session: Session, message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    """Queue a failed (or cancelled) message again, attempts counted afresh; a delivered one is never resent."""
    m = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())
    if m is None or m.channel == "inbox":
        raise NotFound(f"没有这条投递 / no delivery {message_id}")
    if m.status == "delivered":
        raise Conflict(
            "已送达的消息不再重发 / a delivered message is never sent twice (the channel acknowledged it)",
            detail={"status": m.status, "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None},
        )
    if m.status in ("queued", "sending"):
        raise Conflict(f"消息正在排队投递 / the message is already {m.status}", detail={"status": m.status})
    m.status, m.attempts, m.next_attempt_at, m.last_error = "queued", 0, now or utcnow(), None
    session.flush()
    return m
