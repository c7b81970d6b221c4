"""Writing notifications: an event turns into outbox rows — one per recipient × channel — in the caller's
transaction, so a rolled-back event leaves no message and a committed one cannot lose its messages.

Who gets what comes from the rules of notify.yaml (event × audience × channel), narrowed by each user's
preferences (muted channels) and quiet hours (no SMS at night unless urgent: the SMS waits until morning).
In-app (inbox) messages are delivered on writing; the others wait for the delivery job (gis.notify.deliver)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from string import Template
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.models import CellStaff, Compound, User, utcnow
from gis.notify.config import ROBOTS, NotifyConfig, Rule, load_config
from gis.notify.models import NotifyPreference, OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
USER_AUDIENCES = ("unit", "managers", "worker", "planners")
# one statement for any number of rows (executemany / insertmanyvalues), compiled once and cached
_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT = insert(_OUTBOX).on_conflict_do_nothing(index_elements=["key"]).returning(_OUTBOX.c.id)


@dataclass(frozen=True)
class Reporter:
    """Who reported a ticket: an account (inbox) and/or a phone (SMS receipt when the channel gets them)."""

    user_id: int | None
    phone: str | None
    channel: str
    opted_out: bool = False


@dataclass
class Event:
    """One occurrence of something worth telling; `occurrence` makes its messages' keys unique and stable."""

    name: str
    occurrence: str
    params: dict[str, Any]
    place_code: str | None = None  # a cell, compound or community code: picks the 街道's channels
    ticket_id: int | None = None
    urgent: bool = False
    organization_ids: Sequence[int] = ()  # audience "unit"
    area_codes: Sequence[str] = ()  # audience "managers"
    reporters: Sequence[Reporter] = ()
    worker_ids: Sequence[int] = ()
    compound_code: str | None = None  # audience "compound_group"
    link: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    return start <= local < end if start < end else local >= start or local < end


def quiet_until(now: datetime, start: time, end: time) -> datetime | None:
    """When an SMS that would go out at `now` may be sent (None: now)."""
    local = now.astimezone(SHANGHAI)
    if not in_quiet_hours(local.time(), start, end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SHANGHAI)


def render(cfg: NotifyConfig, event: str, params: dict[str, Any]) -> tuple[str, str]:
    t = cfg.templates[event]
    values = {k: "" if v is None else v for k, v in params.items()}
    return Template(t.title).safe_substitute(values)[:200], Template(t.body).safe_substitute(values)


def _users(session: Session, rule: Rule, ev: Event) -> list[User]:
    stmt = select(User).where(User.is_active.is_(True))
    if rule.to == "unit":
        if not ev.organization_ids:
            return []
        stmt = stmt.where(User.organization_id.in_(ev.organization_ids))
    elif rule.to == "managers":
        codes = [c for c in ev.area_codes if c]
        if not codes:
            return []
        j = func.unnest(User.jurisdiction).table_valued("j").render_derived()
        c = func.unnest(literal(codes, type_=User.jurisdiction.type)).table_valued("c").render_derived()
        covers = or_(c.c.c.startswith(j.c.j), j.c.j.startswith(c.c.c))
        staffed = exists().where(
            CellStaff.user_id == User.id, or_(*(CellStaff.cell_code.startswith(code) for code in codes))
        )
        stmt = stmt.where(User.role == "manager", or_(exists(select(1).select_from(j).join(c, covers)), staffed))
    elif rule.to == "worker":
        if not ev.worker_ids:
            return []
        stmt = stmt.where(User.id.in_(ev.worker_ids))
    elif rule.to == "planners":
        stmt = stmt.where(User.role.in_(("planner", "admin")))
    else:
        return []
    if rule.roles:
        stmt = stmt.where(User.role.in_(rule.roles))
    return list(session.scalars(stmt.order_by(User.id)))


class _Writer:
    def __init__(self, session: Session, cfg: NotifyConfig, ev: Event, now: datetime) -> None:
        self.session, self.cfg, self.ev, self.now = session, cfg, ev, now
        self.street, self.channels = cfg.street_for(ev.place_code)
        self.title, self.body = render(cfg, ev.name, ev.params)
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, channel: str, who: str, *, address: str | None = None, user_id: int | None = None,
            organization_id: int | None = None, quiet: tuple[time, time] | None = None) -> None:  # fmt: skip
        key = f"{self.ev.name}:{self.ev.occurrence}:{who}:{channel}"
        inbox = channel == "inbox"
        due = self.now
        if channel == "sms" and not self.ev.urgent:
            q = quiet or (self.cfg.quiet_hours.start, self.cfg.quiet_hours.end)
            due = quiet_until(self.now, *q) or self.now
        self.rows[key] = {
            "key": key[:200], "event": self.ev.name, "channel": channel, "street_code": self.street,
            "ticket_id": self.ev.ticket_id, "user_id": user_id, "organization_id": organization_id,
            "address": address, "title": self.title, "body": self.body, "link": self.ev.link,
            "data": {**{k: v for k, v in self.ev.params.items() if isinstance(v, str | int | float)}},
            "urgent": self.ev.urgent, "status": "delivered" if inbox else "queued", "attempts": 0,
            "next_attempt_at": due, "created_at": self.now, "delivered_at": self.now if inbox else None,
        }  # fmt: skip

    def users(self, rule: Rule, users: Iterable[User], prefs: dict[int, NotifyPreference]) -> None:
        for u in users:
            p = prefs.get(u.id)
            muted = set(p.muted) if p else set()
            quiet = (p.quiet_start, p.quiet_end) if p and p.quiet_start and p.quiet_end else None
            for ch in rule.channels:
                if ch in muted or f"{self.ev.name}:{ch}" in muted:
                    continue
                if ch == "inbox":
                    self.add(ch, f"u{u.id}", user_id=u.id, organization_id=u.organization_id)
                elif ch == "sms" and u.phone and self.channels.sms:
                    self.add(ch, f"u{u.id}", address=u.phone, user_id=u.id, quiet=quiet)
                elif ch == "email" and p and p.email and self.channels.email:
                    self.add(ch, f"u{u.id}", address=p.email, user_id=u.id)

    def reporters(self, rule: Rule) -> None:
        for r in self.ev.reporters:
            for ch in rule.channels:
                if ch == "inbox" and r.user_id is not None:
                    self.add(ch, f"u{r.user_id}", user_id=r.user_id)
                elif (
                    ch == "sms" and r.phone and not r.opted_out and self.channels.sms
                    and r.channel in self.cfg.sms_receipt_channels
                ):  # fmt: skip
                    self.add(ch, f"p{_digest(r.phone)}", address=r.phone)

    def compound_group(self, rule: Rule) -> None:
        code = self.ev.compound_code
        if code is None:
            return
        url, kind = self.session.execute(
            select(Compound.group_robot_url, Compound.group_robot_kind).where(Compound.code == code)
        ).one_or_none() or (None, None)
        kind = kind or "wecom"
        if url and any(ch in ("robot", kind) for ch in rule.channels):
            self.add(kind, f"c{code}", address=url)

    def street_group(self, rule: Rule) -> None:
        for robot in ROBOTS:
            spec = getattr(self.channels, robot)
            if spec is not None and spec.url_env and any(ch in ("robot", robot) for ch in rule.channels):
                self.add(robot, f"s{self.street}", address=f"env:{spec.url_env}")
        if "webhook" in rule.channels and self.channels.webhook is not None:
            self.add("webhook", f"s{self.street}")


def emit(session: Session, ev: Event, *, now: datetime | None = None, cfg: NotifyConfig | None = None) -> int:
    """Write the event's messages (idempotent on their keys); returns how many rows were new."""
    rows = rows_for(session, ev, now=now, cfg=cfg)
    if not rows:
        return 0
    return len(session.execute(_INSERT, rows).all())


def rows_for(
    session: Session, ev: Event, *, now: datetime | None = None, cfg: NotifyConfig | None = None
) -> list[dict[str, Any]]:
    """The outbox rows of an event (who × channel, rendered), not yet written."""
    cfg = cfg or load_config()
    rules = cfg.rules_for(ev.name)
    if not rules:
        return []
    if ev.name in ("received",) and not any(r.phone and r.channel in cfg.sms_receipt_channels for r in ev.reporters):
        return []  # the hot path of intake: nothing to say to a reporter who gets no receipt
    w = _Writer(session, cfg, ev, now or utcnow())
    user_rules = [(rule, _users(session, rule, ev)) for rule in rules if rule.to in USER_AUDIENCES]
    ids = sorted({u.id for _, users in user_rules for u in users})
    prefs: dict[int, NotifyPreference] = {}
    if ids:
        prefs = {
            p.user_id: p for p in session.scalars(select(NotifyPreference).where(NotifyPreference.user_id.in_(ids)))
        }
    for rule, users in user_rules:
        w.users(rule, users, prefs)
    for rule in rules:
        if rule.to == "reporter":
            w.reporters(rule)
        elif rule.to == "compound_group":
            w.compound_group(rule)
        elif rule.to == "street_group":
            w.street_group(rule)
    return list(w.rows.values())
