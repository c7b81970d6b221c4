"""One entry point for every action on an existing ticket (used by the API, offline batches and the
demo), with optional idempotency keys so an offline client can replay a batch safely."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import User
from gis.tickets import dedupe, escalation, feedback, idempotency, queries, workflow
from gis.tickets.models import Ticket

EXTRA_ACTIONS = ("acknowledge", "report_part", "follow_up", "rate")


def apply(
    session: Session,
    ticket_id: int,
    action: str,
    *,
    user: User,
    note: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run `action` and return {"ticket_id", "state", "event"} (raises domain errors on refusal).

    A ticket the user may not see is "not found" before anything else is checked, so neither its existence
    nor its state leaks (the API, offline batches and the demo all come through here)."""
    queries.get_visible(session, user, ticket_id)
    payload = payload or {}
    if action == "merge":
        into = payload.get("into")
        if not isinstance(into, int):
            raise InvalidInput("merge needs payload.into: the id of the ticket to merge into")
        ticket = dedupe.merge(session, ticket_id, into, user=user, note=note, now=now)
    elif action == "escalate":
        ticket = escalation.escalate(
            session,
            ticket_id,
            user=user,
            organization_ids=_ints(payload.get("organization_ids")),
            unit_types=_texts(payload.get("unit_types"), "unit_types"),
            note=note,
            now=now,
        )
    elif action == "acknowledge":
        escalation.acknowledge(session, ticket_id, user=user, now=now)
        ticket = _get(session, ticket_id)
    elif action == "report_part":
        escalation.report(session, ticket_id, user=user, text=note or "", now=now)
        ticket = _get(session, ticket_id)
    elif action == "follow_up":
        feedback.follow_up(
            session,
            ticket_id,
            user=user,
            method=str(payload.get("method", "phone")),
            outcome=str(payload.get("outcome", "")),
            note=note,
            now=now,
        )
        ticket = _get(session, ticket_id)
    elif action == "rate":
        feedback.rate(
            session,
            ticket_id,
            user=user,
            stars=_stars(payload.get("stars", 0)),
            solved=_flag(payload.get("solved", True), "solved"),
            comment=note,
            now=now,
        )
        ticket = _get(session, ticket_id)
    else:
        ticket = workflow.transition(session, ticket_id, action, user=user, note=note, payload=payload, now=now)
    return {"ticket_id": ticket.id, "state": ticket.state, "action": action}


def apply_once(
    session: Session,
    ticket_id: int,
    action: str,
    *,
    user: User,
    client_key: str,
    note: str | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """`apply` guarded by an idempotency key; returns (answer, replayed)."""
    scope = f"user:{user.id}"
    body = {"ticket_id": ticket_id, "action": action, "note": note, "payload": payload or {}}
    stored = idempotency.claim_key(session, scope, client_key, body)
    if stored is not None:
        return stored, True
    answer = apply(session, ticket_id, action, user=user, note=note, payload=payload, now=now)
    idempotency.remember(session, scope, client_key, answer)
    return answer, False


def _get(session: Session, ticket_id: int) -> Ticket:
    return workflow.lock_ticket(session, ticket_id)


def _texts(raw: Any, name: str) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidInput(f'{name} must be a list of strings, e.g. ["police"]')
    return list(raw)


def _stars(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise InvalidInput(f"stars must be a whole number from 1 to 5, got {raw!r}")
    return int(raw)


def _flag(raw: Any, name: str) -> bool:
    """JSON true/false (or "true"/"false"): bool("false") would be True."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise InvalidInput(f"{name} must be true or false, got {raw!r}")


def _ints(raw: Any) -> list[int] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(x, int) for x in raw):
        raise InvalidInput("organization_ids must be a list of integers")
    return list(raw)
