"""The ticket state machine: states, transitions, who may do each, and the SLA clock per state.

上报 reported → 立案 accepted → 派遣 dispatched → 接单 claimed → 处置 in_progress → 办结 resolved
→ 核查 verified → 结案 closed; 退单 rejected (back to the dispatcher, with a reason), 挂起 suspended
(with a reason; resume returns to the state before), 吹哨 escalated (departments called, see
escalation.py), reopened (resident not satisfied), merged (duplicate, see dedupe.py).

`MACHINE` is pure data (testable without a database); `transition()` applies one step to a locked row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from gis.models import Organization, User, utcnow
from gis.tickets import access, events, sla
from gis.tickets.config import TicketConfig, load_config
from gis.tickets.models import Ticket, TicketPart

STATE_LABELS = {
    "reported": "上报",
    "accepted": "立案",
    "dispatched": "派遣",
    "claimed": "接单",
    "in_progress": "处置",
    "resolved": "办结",
    "verified": "核查",
    "closed": "结案",
    "rejected": "退单",
    "suspended": "挂起",
    "escalated": "吹哨",
    "reopened": "重办",
    "merged": "合并",
}
TERMINAL = frozenset({"closed", "merged"})
OPEN_STATES = frozenset(STATE_LABELS) - TERMINAL - {"resolved", "verified"}
RESUME = "<previous>"  # target of "resume": the state before 挂起


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str
    actors: tuple[str, ...]  # dispatcher | unit | verifier | reporter | system
    needs_reason: bool = False


def _t(action: str, label: str, sources: str, target: str, actors: str, *, reason: bool = False) -> Transition:
    return Transition(action, label, frozenset(sources.split()), target, tuple(actors.split()), reason)


_WORKING = "accepted dispatched claimed in_progress escalated"
MACHINE: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", "立案", "reported", "accepted", "dispatcher system"),
        _t("dispatch", "派单", "accepted rejected reopened", "dispatched", "dispatcher"),
        _t("claim", "接单", "dispatched reopened", "claimed", "unit"),
        _t("reject", "退单", "dispatched claimed", "rejected", "unit", reason=True),
        _t("start", "开始处置", "claimed", "in_progress", "unit"),
        _t("escalate", "吹哨", "accepted dispatched claimed in_progress", "escalated", "dispatcher unit system"),
        _t("resolve", "办结", "claimed in_progress escalated", "resolved", "unit dispatcher"),
        _t("verify", "核查", "resolved", "verified", "verifier"),
        _t("close", "结案", "verified", "closed", "dispatcher"),
        _t("suspend", "挂起", _WORKING, "suspended", "dispatcher unit", reason=True),
        _t("resume", "恢复", "suspended", RESUME, "dispatcher unit"),
        _t("reopen", "重办", "resolved verified closed", "reopened", "dispatcher reporter system"),
        _t("merge", "合并", "reported accepted", "merged", "dispatcher reporter"),
    )
}
ACTOR_LABELS = {
    "dispatcher": "派单员 (社区网格长 / admin)",
    "unit": "承办单位 (assigned unit)",
    "verifier": "核查人 (not the resolver)",
    "reporter": "报告人 (reporter)",
    "system": "系统 (automatic)",
}


def allowed_actions(state: str) -> list[dict[str, str]]:
    """The transitions possible from `state`, for clients and for 409 answers."""
    return [
        {"action": t.action, "label": t.label, "to": t.target if t.target != RESUME else "(previous state)"}
        for t in MACHINE.values()
        if state in t.sources
    ]


def target_state(state: str, action: str, *, previous: str | None = None) -> str:
    """Where `action` leads from `state`; raises InvalidTransition (409) listing what is allowed."""
    t = MACHINE.get(action)
    if t is None:
        raise InvalidInput(f"未知操作 / unknown action {action!r}; actions: {', '.join(MACHINE)}")
    if state not in t.sources:
        allowed = allowed_actions(state)
        names = ", ".join(a["action"] for a in allowed) or "none"
        raise InvalidTransition(
            f"工单处于「{STATE_LABELS.get(state, state)}」状态，不能「{t.label}」/ "
            f"cannot {action} a ticket in state {state!r}; allowed: {names}",
            detail={"state": state, "action": action, "allowed": allowed},
        )
    if t.target == RESUME:
        return previous or "accepted"
    return t.target


def actor_kinds(session: Session, user: User | None, ticket: Ticket) -> set[str]:
    if user is None:
        return {"system"}
    kinds = set()
    if access.is_dispatcher(session, user, ticket):
        kinds.add("dispatcher")
    if access.is_unit(session, user, ticket):
        kinds.add("unit")
    if access.is_reporter(user, ticket):
        kinds.add("reporter")
    if user.role in ("admin", "manager", "grid_worker") and (
        user.role == "admin" or access.in_area(session, user, ticket)
    ):
        kinds.add("verifier")
    return kinds


def check_actor(session: Session, user: User | None, ticket: Ticket, t: Transition) -> None:
    kinds = actor_kinds(session, user, ticket)
    if not kinds.intersection(t.actors):
        who = "; ".join(ACTOR_LABELS[a] for a in t.actors if a != "system")
        raise Forbidden(
            f"无权「{t.label}」/ you may not {t.action} this ticket; allowed: {who}",
            detail={"action": t.action, "allowed_actors": [a for a in t.actors if a != "system"]},
        )


def lock_ticket(session: Session, ticket_id: int) -> Ticket:
    """Read a ticket FOR UPDATE: concurrent writers queue here, the second sees the first's result."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).with_for_update().execution_options(populate_existing=True)
    )
    if ticket is None:
        raise NotFound(f"工单不存在 / no ticket {ticket_id}")
    return ticket


def set_clock(ticket: Ticket, cfg: TicketConfig, now: datetime) -> None:
    """Start the SLA clock of the ticket's current state."""
    profile = cfg.profiles[ticket.sla_profile]
    tier = profile.tiers[ticket.tier]
    ticket.due_stage, ticket.due_at = sla.due_for_state(
        profile, tier, ticket.state, now=now, resolve_due_at=ticket.resolve_due_at
    )


def _resume_clock(ticket: Ticket, cfg: TicketConfig, now: datetime) -> None:
    """挂起 pauses the clock: on resume every deadline moves back by the paused time."""
    profile = cfg.profiles[ticket.sla_profile]
    tier = profile.tiers[ticket.tier]
    paused_from = ticket.suspended_at or now
    if ticket.resolve_due_at is not None:
        ticket.resolve_due_at = sla.extend_for_pause(ticket.resolve_due_at, tier.resolve, paused_from, now)
    if ticket.due_at is not None and ticket.due_stage is not None:
        duration = sla.stage_duration(profile, tier, ticket.due_stage)
        ticket.due_at = sla.extend_for_pause(ticket.due_at, duration, paused_from, now)
    if ticket.due_stage == "resolve":
        ticket.due_at = ticket.resolve_due_at
    ticket.suspended_at = None


def _open_parts(session: Session, ticket_id: int) -> int:
    stmt = select(func.count()).where(TicketPart.ticket_id == ticket_id, TicketPart.state != "done")
    return int(session.scalar(stmt) or 0)


def _dispatch(session: Session, ticket: Ticket, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    unit_id = payload.get("unit_id")
    if unit_id is None:
        if ticket.unit_id is None and ticket.unit_type != "community":
            raise InvalidInput(
                "没有可派单的责任单位 / no responsible unit is configured for this ticket: give unit_id",
            )
        if ticket.unit_id is not None:
            events.notify_unit(session, ticket, [ticket.unit_id], "dispatched", at=now)
        return {"unit_id": ticket.unit_id}
    if isinstance(unit_id, bool) or not isinstance(unit_id, int | str) or not str(unit_id).strip().isdigit():
        raise InvalidInput(f"unit_id must be an organization id (a whole number), got {unit_id!r}")
    org = session.get(Organization, int(unit_id))
    if org is None:
        raise InvalidInput(f"责任单位不存在 / no organization with id {unit_id}")
    changed = org.id != ticket.unit_id
    ticket.unit_id, ticket.unit_type = org.id, org.unit_type or org.kind
    events.notify_unit(session, ticket, [org.id], "dispatched", at=now)
    return {"unit_id": org.id, "unit_name": org.name, "reassigned": changed}


def _side_effects(
    session: Session, ticket: Ticket, t: Transition, user: User | None, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    cfg = load_config()
    if t.action == "dispatch":
        extra = _dispatch(session, ticket, payload, now)
    elif t.action == "resolve":
        if _open_parts(session, ticket.id):
            raise InvalidTransition(
                "吹哨各部门尚未全部办结 / every called department must report its part before the ticket resolves",
                detail={"state": ticket.state, "open_parts": _open_parts(session, ticket.id)},
            )
        ticket.resolved_at, ticket.resolved_by_id = now, user.id if user else None
        events.notify_reporters(session, ticket, "resolved", at=now)
    elif t.action == "verify":
        if user is not None and user.id == ticket.resolved_by_id:
            raise Forbidden(
                "核查须由办结人以外的人员进行 / verification must be done by someone other than the resolver"
            )
    elif t.action == "close":
        ticket.closed_at = now
    elif t.action == "suspend":
        ticket.state_before_suspend, ticket.suspended_at = ticket.state, now
    elif t.action == "reopen":
        profile = cfg.profiles[ticket.sla_profile]
        ticket.reopen_count += 1
        ticket.resolved_at = ticket.resolved_by_id = ticket.closed_at = None
        ticket.resolve_due_at = sla.due_after(profile.tiers[ticket.tier].resolve, now)
    return extra


def transition(
    session: Session,
    ticket_id: int,
    action: str,
    *,
    user: User | None,
    note: str | None = None,
    payload: dict[str, Any] | None = None,
    label: str | None = None,
    now: datetime | None = None,
    before_commit: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Apply one workflow action (row-locked); writes the event; raises 409/403/422 on refusal."""
    now = now or utcnow()
    payload = dict(payload or {})
    ticket = lock_ticket(session, ticket_id)
    source = ticket.state
    target = target_state(source, action, previous=ticket.state_before_suspend)
    t = MACHINE[action]
    check_actor(session, user, ticket, t)
    if t.needs_reason and not (note and note.strip()):
        raise InvalidInput(f"「{t.label}」须说明原因 / {action} needs a reason: send a note")
    extra = _side_effects(session, ticket, t, user, payload, now)
    ticket.state = target
    if action == "resume":
        ticket.state_before_suspend = None
        _resume_clock(ticket, load_config(), now)
    elif action != "suspend":
        set_clock(ticket, load_config(), now)
    if before_commit is not None:
        before_commit(ticket)
    ticket.updated_at = now
    events.record(
        session,
        ticket,
        action,
        user=user,
        label=label,
        from_state=source,
        to_state=target,
        note=note,
        payload={**payload, **extra},
        at=now,
    )
    session.flush()
    return ticket
