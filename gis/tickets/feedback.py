"""一案一回访 (follow-up after resolution) and 评单 (the reporter's 1–5 star rating).

A rating of 2 stars or less, an explicit "not solved", or an unsatisfied follow-up reopens the
ticket to its unit (state `reopened`, a fresh resolution deadline).
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from gis.models import User, utcnow
from gis.tickets import access, events, workflow
from gis.tickets.models import FollowUp, Rating, Ticket

RATABLE = ("resolved", "verified", "closed")
REOPEN_AT_OR_BELOW = 2


def _after_resolution(ticket: Ticket, what: str) -> None:
    if ticket.state not in RATABLE:
        raise InvalidTransition(
            f"工单尚未办结，不能{what} / ticket {ticket.id} is {ticket.state}: only resolved tickets take a {what}",
            detail={"state": ticket.state, "allowed": workflow.allowed_actions(ticket.state)},
        )


def follow_up(
    session: Session,
    ticket_id: int,
    *,
    user: User,
    method: str,
    outcome: str,
    note: str | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """Record the follow-up call or visit; an unsatisfied outcome reopens the ticket."""
    now = now or utcnow()
    ticket = workflow.lock_ticket(session, ticket_id)
    if not (
        user.role == "admin" or (user.role in ("manager", "grid_worker") and access.in_area(session, user, ticket))
    ):
        raise Forbidden("回访由社区网格人员进行 / follow-ups are done by the community's managers and grid workers")
    _after_resolution(ticket, "回访")
    if method not in ("phone", "visit", "sms", "wechat"):
        raise InvalidInput("method must be phone, visit, sms or wechat")
    if outcome not in ("satisfied", "unsatisfied", "unreachable"):
        raise InvalidInput("outcome must be satisfied, unsatisfied or unreachable")
    record = FollowUp(ticket_id=ticket.id, user_id=user.id, method=method, outcome=outcome, note=note, at=now)
    session.add(record)
    events.record(
        session, ticket, "follow_up", user=user, note=note, payload={"method": method, "outcome": outcome}, at=now
    )
    if outcome == "unsatisfied":
        workflow.transition(
            session, ticket.id, "reopen", user=None, label="回访不满意 / follow-up unsatisfied", note=note, now=now
        )
    session.flush()
    return record


def rate(
    session: Session,
    ticket_id: int,
    *,
    stars: int,
    solved: bool = True,
    comment: str | None = None,
    user: User | None = None,
    token: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> Rating:
    """评单 by the reporter (logged in, or holding the ticket's token and their phone number)."""
    now = now or utcnow()
    if not 1 <= stars <= 5:
        raise InvalidInput("stars must be between 1 and 5")
    try:
        ticket = workflow.lock_ticket(session, ticket_id)
    except NotFound as exc:  # the same answer as for someone else's ticket: ids are not an existence oracle
        raise Forbidden("只有报告人可以评价 / only the reporter may rate this ticket") from exc
    by_account = user is not None and access.is_reporter(user, ticket)
    by_token = (
        token is not None
        and phone is not None
        and ticket.reporter_phone is not None
        and hmac.compare_digest(token.encode(), ticket.token.encode())  # str compare refuses non-ASCII
        and phone.strip() == ticket.reporter_phone
    )
    if not (by_account or by_token):
        raise Forbidden("只有报告人可以评价 / only the reporter may rate this ticket")
    _after_resolution(ticket, "评价")
    already = session.scalar(
        select(Rating.id).where(Rating.ticket_id == ticket.id, Rating.at >= (ticket.resolved_at or ticket.opened_at))
    )
    if already is not None:
        raise Conflict("本次办结已评价 / this resolution was already rated")
    rating = Rating(
        ticket_id=ticket.id, user_id=user.id if user else None, stars=stars, solved=solved, comment=comment, at=now
    )
    session.add(rating)
    label = None if user else f"报告人 {ticket.reporter_name or ''} (token)"
    events.record(
        session,
        ticket,
        "rated",
        user=user,
        label=label,
        note=comment,
        payload={"stars": stars, "solved": solved},
        at=now,
    )
    events.notify_unit(session, ticket, [], "rated", at=now, stars=stars)
    if stars <= REOPEN_AT_OR_BELOW or not solved:
        workflow.transition(
            session,
            ticket.id,
            "reopen",
            user=user,
            label=label or "评价不满意 / rated unsatisfied",
            note=comment or f"{stars} 星 / stars",
            now=now,
        )
    session.flush()
    return rating
