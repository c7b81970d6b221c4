"""What a caller may put in a report: staff-only fields (channel, tier, opened_at, external_id) refused to the
public, opened_at within bounds, and one ticket per (channel, external_id)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput
from gis.models import User
from gis.tickets.config import load_config
from gis.tickets.models import CHANNELS, Ticket

if TYPE_CHECKING:
    from gis.tickets.intake import TicketDraft

STAFF_ROLES = frozenset({"admin", "manager", "grid_worker", "department", "planner"})
# residents report (点单) or drop a suggestion in the 意见箱; "open311" only through the Open311 endpoint (an api_key)
PUBLIC_CHANNELS = frozenset({"resident", "suggestion"})
MAX_DESCRIPTION = 4000
# opened_at (staff and imports only) within these bounds: backfilling an old hotline export is fine, a date
# that makes every deadline overflow or pins a ticket to the top of "newest first" is not
MAX_BACKDATE = timedelta(days=3660)
MAX_AHEAD = timedelta(hours=1)
PUBLIC_CLOCK_SKEW = timedelta(minutes=1)  # a public caller's opened_at may only say "now"
EXTERNAL_ID_CONSTRAINT = "uq_tickets_channel_external_id"


def check(draft: TicketDraft, user: User | None, *, open311_client: bool = False, now: datetime) -> None:
    """Refuse a report the caller may not make (403) or whose fields are wrong (422)."""
    load_config().category(draft.category)  # unknown category → 422 listing the known ones
    if not draft.description or not draft.description.strip():
        raise InvalidInput("请描述问题 / description is required")
    if len(draft.description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description is longer than {MAX_DESCRIPTION} characters")
    if draft.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {draft.channel!r}; use one of {', '.join(CHANNELS)}")
    if draft.urgency not in ("normal", "urgent"):
        raise InvalidInput("urgency must be 'normal' or 'urgent'")
    if draft.opened_at is not None and draft.opened_at.tzinfo is None:
        raise InvalidInput("opened_at must carry a timezone (e.g. +08:00)")
    staff = user is not None and user.role in STAFF_ROLES
    if not staff:
        allowed = {"open311"} if open311_client else PUBLIC_CHANNELS
        if draft.channel not in allowed:
            raise Forbidden(
                f"channel {draft.channel!r} is for staff; residents report through 'resident' or 'suggestion' (意见箱)"
            )
        if draft.tier is not None:
            raise Forbidden("时限等级由工作人员确定 / only staff may set the SLA tier")
        if draft.opened_at is not None and abs(draft.opened_at - now) > PUBLIC_CLOCK_SKEW:
            raise Forbidden("受理时间由系统记录 / only staff may set opened_at; leave it out (it is now)")
        if draft.external_id is not None:
            raise Forbidden("外部编号仅限工作人员和导入 / only staff and imports may set external_id")
    if user is None and draft.channel == "resident" and not (draft.reporter_name and draft.reporter_phone):
        raise InvalidInput(
            "匿名上报须留姓名和电话 / public reports need reporter_name and reporter_phone so we can call back "
            "(or log in)"
        )
    if draft.opened_at is not None and not now - MAX_BACKDATE <= draft.opened_at <= now + MAX_AHEAD:
        raise InvalidInput(
            f"受理时间超出范围 / opened_at {draft.opened_at.isoformat()} is out of range: it may be at most "
            f"{MAX_BACKDATE.days} days in the past and not in the future",
            detail={"opened_at": draft.opened_at.isoformat()},
        )


def external_id_taken(channel: str, external_id: str | None) -> Conflict:
    return Conflict(
        f"外部编号 {external_id!r} 已存在 / a {channel} ticket with external_id {external_id!r} already exists",
        detail={"channel": channel, "external_id": external_id},
    )


def check_external_id(session: Session, channel: str, external_id: str) -> None:
    taken = session.scalar(select(Ticket.id).where(Ticket.channel == channel, Ticket.external_id == external_id))
    if taken is not None:
        raise external_id_taken(channel, external_id)
