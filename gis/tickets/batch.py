"""Offline batches: tickets and actions recorded on a phone without network, sent later in one request.

Every item carries a client-generated key, so replaying the batch creates nothing twice and returns
the same ids. Items run in their own savepoint: a bad item is reported and leaves no trace, the rest
go through. An action may refer to a ticket created earlier in the same batch by its key (`ticket_ref`),
since an offline client does not know server ids yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.errors import GridError, InvalidInput
from gis.models import User
from gis.tickets import actions, intake


@dataclass
class BatchEntry:
    client_key: str
    kind: str  # "ticket" | "action"
    draft: intake.TicketDraft | None = None
    ticket_id: int | None = None
    ticket_ref: str | None = None
    action: str | None = None
    note: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _run_one(
    session: Session, user: User, entry: BatchEntry, refs: dict[str, int], now: datetime | None
) -> dict[str, Any]:
    if entry.kind == "ticket":
        if entry.draft is None:
            raise InvalidInput("a ticket item needs 'ticket'")
        result = intake.create_ticket(session, entry.draft, user=user, client_key=entry.client_key, now=now)
        refs[entry.client_key] = result.ticket.id
        return {"ticket_id": result.ticket.id, "state": result.ticket.state, "replayed": result.replayed}
    ticket_id = entry.ticket_id
    if ticket_id is None and entry.ticket_ref is not None:
        ticket_id = refs.get(entry.ticket_ref)
        if ticket_id is None:
            raise InvalidInput(f"ticket_ref {entry.ticket_ref!r} names no ticket of this batch (it must come first)")
    if ticket_id is None or entry.action is None:
        raise InvalidInput("an action item needs 'action' and 'ticket_id' or 'ticket_ref'")
    answer, replayed = actions.apply_once(
        session,
        ticket_id,
        entry.action,
        user=user,
        client_key=entry.client_key,
        note=entry.note,
        payload=entry.payload,
        now=now,
    )
    return {"ticket_id": answer["ticket_id"], "state": answer["state"], "replayed": replayed}


def run_batch(
    session: Session, user: User, entries: list[BatchEntry], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Apply the entries in order; one result per entry: ok + ids, or the error that refused it."""
    keys = [e.client_key for e in entries]
    if len(set(keys)) != len(keys):
        raise InvalidInput("client_key values must be unique within a batch")
    refs: dict[str, int] = {}
    results = []
    for entry in entries:
        savepoint = session.begin_nested()
        try:
            out = _run_one(session, user, entry, refs, now)
            savepoint.commit()
            results.append({"client_key": entry.client_key, "ok": True, **out})
        except GridError as exc:
            savepoint.rollback()
            error = {"error": exc.code, "message": exc.message, "detail": exc.detail}
            results.append({"client_key": entry.client_key, "ok": False, "error": error})
        except IntegrityError as exc:
            savepoint.rollback()
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            error = {
                "error": "conflict",
                "message": "数据冲突 / conflicting data: this entry clashes with one already stored",
                "detail": {"constraint": constraint},
            }
            results.append({"client_key": entry.client_key, "ok": False, "error": error})
    return results
