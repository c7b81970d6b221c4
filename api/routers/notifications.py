"""Notifications: the in-app inbox of the logged-in user, their preferences, a public reporter's opt-out of SMS
receipts, and the delivery log for admins (what went out, to whom, what failed, resend)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.deps import CurrentUser, PageQuery, SessionDep
from api.routers.users import admin_only
from api.schemas.common import error_responses
from api.schemas.notifications import (
    DeliveryDetailPublic,
    DeliveryPagePublic,
    DeliveryPublic,
    InboxPublic,
    MarkedPublic,
    MarkRead,
    OptOut,
    OptOutPublic,
    PreferencesPublic,
    PreferencesUpdate,
    UnreadPublic,
)
from gis.notify import inbox as notify_inbox

router = APIRouter(tags=["notifications"], responses=error_responses(401, 422))
admin = APIRouter(
    prefix="/v1/notifications/deliveries",
    tags=["notifications"],
    dependencies=[Depends(admin_only)],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("/v1/me/notifications", response_model=InboxPublic)
def my_notifications(
    session: SessionDep,
    user: CurrentUser,
    page: PageQuery,
    unread: Annotated[bool, Query(description="only unread messages")] = False,
) -> dict[str, Any]:
    """The in-app inbox, newest first, with the unread count."""
    count, matched, rows = notify_inbox.inbox(session, user, unread_only=unread, limit=page.limit, offset=page.offset)
    return {"unread": count, "items": rows, "numberMatched": matched, "numberReturned": len(rows)}


@router.get("/v1/me/notifications/unread", response_model=UnreadPublic)
def my_unread(session: SessionDep, user: CurrentUser) -> dict[str, int]:
    """Just the unread count (page headers poll it)."""
    return {"unread": notify_inbox.unread_count(session, user)}


@router.post("/v1/me/notifications/read", response_model=MarkedPublic, responses=error_responses(404))
def mark_read(session: SessionDep, user: CurrentUser, body: MarkRead) -> dict[str, int]:
    """Mark messages read: `{"ids": [...]}` or `{"all": true}`."""
    marked = notify_inbox.mark_read(session, user, ids=body.ids, all_=body.all)
    return {"marked": marked, "unread": notify_inbox.unread_count(session, user)}


@router.get("/v1/me/notification-preferences", response_model=PreferencesPublic)
def my_preferences(session: SessionDep, user: CurrentUser) -> Any:
    return notify_inbox.preferences(session, user)


@router.put("/v1/me/notification-preferences", response_model=PreferencesPublic)
def set_my_preferences(session: SessionDep, user: CurrentUser, body: PreferencesUpdate) -> Any:
    """Muted channels (or event:channel pairs), quiet hours for SMS, the e-mail address for e-mail messages."""
    return notify_inbox.set_preferences(
        session, user, muted=body.muted, quiet_start=body.quiet_start, quiet_end=body.quiet_end, email=body.email
    )


@router.post("/v1/notifications/opt-out", response_model=OptOutPublic, responses=error_responses(404))
def opt_out(session: SessionDep, body: OptOut) -> dict[str, int]:
    """A reporter (no login: the ticket's token) stops SMS receipts for the ticket."""
    return {"ticket_id": body.ticket_id, "cancelled": notify_inbox.opt_out(session, body.ticket_id, body.token)}


@admin.get("", response_model=DeliveryPagePublic)
def deliveries(
    session: SessionDep,
    page: PageQuery,
    status: Annotated[str | None, Query(description="queued, sending, delivered, failed, cancelled")] = None,
    channel: Annotated[str | None, Query(description="sms, email, wecom, dingtalk, feishu, webhook")] = None,
    event: Annotated[str | None, Query(max_length=40)] = None,
    ticket_id: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The delivery log, newest first (phones masked, robot keys cut off)."""
    matched, items = notify_inbox.deliveries(
        session, status=status, channel=channel, event=event, ticket_id=ticket_id, limit=page.limit, offset=page.offset
    )
    return {"items": items, "numberMatched": matched, "numberReturned": len(items)}


@admin.get("/{message_id}", response_model=DeliveryDetailPublic)
def delivery(session: SessionDep, message_id: int) -> dict[str, Any]:
    """One message and every attempt with the channel's answer."""
    m, rows = notify_inbox.attempts(session, message_id)
    return {**notify_inbox.message_public(m, rows[-1] if rows else None), "attempt_log": rows}


@admin.post("/{message_id}/resend", response_model=DeliveryPublic, responses=error_responses(409))
def resend(session: SessionDep, message_id: int) -> dict[str, Any]:
    """Queue a failed message again (a delivered one is refused: never sent twice)."""
    return notify_inbox.message_public(notify_inbox.resend(session, message_id))
