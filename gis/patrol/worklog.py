"""民情工作日志 (日巡查、日记录、日反馈): per worker and per compound each night — what was checked, found,
ticketed, solved, and the households visited. Stored in patrol_logs (re-running a day replaces it); JSON
and Markdown views, and the view with names the printable A4 page is drawn from (`log_view`);
`hand_to_outbox` gives each compound's log to the notification outbox (C2: the compound's group robot,
gis.notify)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import Compound, User, utcnow
from gis.notify import area_events
from gis.patrol import access, derive
from gis.patrol.config import load_config
from gis.patrol.models import HouseholdVisit, MustVisitHousehold, PatrolAnswer, PatrolLog, PatrolVisit
from gis.tickets.models import Ticket
from gis.tickets.workflow import STATE_LABELS

log = logging.getLogger(__name__)


def _entries(session: Session, day: date) -> list[Any]:
    start, end = access.day_bounds(day)
    return list(
        session.execute(
            select(
                PatrolVisit.id,
                PatrolVisit.user_id,
                PatrolVisit.compound_code,
                PatrolAnswer.item,
                PatrolAnswer.status,
                PatrolAnswer.note,
                PatrolAnswer.ticket_id,
                Ticket.state,
            )  # fmt: skip
            .outerjoin(PatrolAnswer, PatrolAnswer.visit_id == PatrolVisit.id)
            .outerjoin(Ticket, Ticket.id == PatrolAnswer.ticket_id)
            .where(PatrolVisit.t >= start, PatrolVisit.t < end)
            .order_by(PatrolVisit.t, PatrolVisit.id, PatrolAnswer.id)
        )
    )


def empty_log(day: date, kind: str, subject: str) -> dict[str, Any]:
    """A log with nothing in it (the shape of every log)."""
    return {"date": day.isoformat(), "kind": kind, "subject": subject, "visits": 0, "checked": [], "found": [],
            "ticketed": [], "solved": [], "households_visited": [], "minutes_on_site": {}, "walked_m": 0.0}  # fmt: skip


def build_logs(session: Session, day: date) -> dict[tuple[str, str], dict[str, Any]]:
    """The day's logs keyed by ("worker", user id) and ("compound", code)."""
    labels = {i.code: i.label for i in load_config().checklist}
    minutes = derive.site_minutes(session, day)
    walked = derive.distance_m(session, day)
    start, end = access.day_bounds(day)
    households: dict[tuple[str, str], list[int]] = defaultdict(list)
    for uid, code, hid in session.execute(
        select(PatrolVisit.user_id, PatrolVisit.compound_code, HouseholdVisit.household_id)
        .join(HouseholdVisit, HouseholdVisit.visit_id == PatrolVisit.id)
        .where(HouseholdVisit.at >= start, HouseholdVisit.at < end)
    ):
        households[("worker", str(uid))].append(hid)
        if code:
            households[("compound", code)].append(hid)
    logs: dict[tuple[str, str], dict[str, Any]] = {}

    def blank(kind: str, subject: str) -> dict[str, Any]:
        return logs.setdefault((kind, subject), empty_log(day, kind, subject))

    seen_visits: set[tuple[str, str, int]] = set()
    for vid, uid, code, item, status, note, ticket_id, state in _entries(session, day):
        for key in (("worker", str(uid)), ("compound", code)):
            if key[1] is None:
                continue
            entry = blank(*key)
            if (key[0], key[1], vid) not in seen_visits:
                seen_visits.add((key[0], key[1], vid))
                entry["visits"] += 1
            if item is None:
                continue
            entry["checked"].append(labels.get(item, item))
            if status == "problem":
                entry["found"].append({"item": labels.get(item, item), "note": note, "compound_code": code})
            if ticket_id is not None:
                entry["ticketed"].append(ticket_id)
                if state in ("resolved", "verified", "closed"):
                    entry["solved"].append(ticket_id)
    for (uid, code), m in minutes.items():
        blank("worker", str(uid))["minutes_on_site"][code] = m
        blank("compound", code)["minutes_on_site"][str(uid)] = m
    for uid, m in walked.items():
        blank("worker", str(uid))["walked_m"] = m
    for key, ids in households.items():
        blank(*key)["households_visited"] = sorted(set(ids))
    return logs


def hand_to_outbox(session: Session, entry: dict[str, Any]) -> bool:
    """C2: give a compound's log to the notification outbox for its group robot (same transaction as the log);
    True when a message was queued (the compound has a robot and the rules send logs)."""
    return area_events.worklog(session, entry, to_markdown(session, entry)) > 0


def write_logs(session: Session, day: date) -> int:
    """Build and store (replace) the day's logs; returns how many."""
    logs = build_logs(session, day)
    for (kind, subject), data in logs.items():
        stmt = insert(PatrolLog).values(day=day, subject_kind=kind, subject=subject, data=data, created_at=utcnow())
        session.execute(
            stmt.on_conflict_do_update(constraint="uq_patrol_log", set_={"data": data, "created_at": utcnow()})
        )
        if kind == "compound":
            hand_to_outbox(session, data)
    log.info("patrol logs for %s: %d", day, len(logs))
    return len(logs)


def read_log(session: Session, user: User, *, day: date, worker_id: int | None, compound: str | None
             ) -> dict[str, Any]:  # fmt: skip
    """A stored log, or built on the fly when the nightly job has not run for that day yet."""
    if (worker_id is None) == (compound is None):
        raise InvalidInput("give exactly one of worker_id or compound")
    kind, subject = ("worker", str(worker_id)) if worker_id is not None else ("compound", str(compound))
    if worker_id is not None and worker_id != user.id:
        derive.require_worker_reader(session, user, worker_id)
    if compound is not None:
        access.require_code_in_scope(session, user, compound)
    stored = session.scalar(
        select(PatrolLog.data).where(PatrolLog.day == day, PatrolLog.subject_kind == kind, PatrolLog.subject == subject)
    )
    if stored is not None:
        return dict(stored)
    built = build_logs(session, day).get((kind, subject))
    return built or empty_log(day, kind, subject)


def _subject_name(session: Session, entry: dict[str, Any]) -> str:
    if entry["kind"] == "worker":
        return session.scalar(select(User.full_name).where(User.id == int(entry["subject"]))) or entry["subject"]
    return session.scalar(select(Compound.name).where(Compound.code == entry["subject"])) or entry["subject"]


def log_view(session: Session, entry: dict[str, Any]) -> dict[str, Any]:
    """The log with names instead of codes and ids, for the printable page (maps/worklog_page.py): who or which
    compound, minutes on site per compound (a worker's log) or per worker (a compound's), the problems found
    with their compound's name, the tickets with their state, and the households visited (building, unit, kind)."""
    cfg = load_config()
    by_worker = entry["kind"] == "compound"
    keys = list(entry["minutes_on_site"])
    codes = {f.get("compound_code") for f in entry["found"]} | (set() if by_worker else set(keys))
    compounds = dict(
        session.execute(select(Compound.code, Compound.name).where(Compound.code.in_(codes))).tuples().all()
    )
    workers = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_([int(k) for k in keys] if by_worker else [])))
        .tuples()
        .all()
    )
    tickets = sorted(set(entry["ticketed"]) | set(entry["solved"]))
    states = dict(session.execute(select(Ticket.id, Ticket.state).where(Ticket.id.in_(tickets))).tuples().all())
    households = session.execute(
        select(MustVisitHousehold.id, MustVisitHousehold.building, MustVisitHousehold.unit, MustVisitHousehold.kind)
        .where(MustVisitHousehold.id.in_(entry["households_visited"]))
        .order_by(MustVisitHousehold.id)
    ).all()

    # each compound's 街道 rule (data/config/patrol.yaml subdistricts; codes are hierarchical: the 街道 is the
    # first 9 characters), as the rule table and the nightly misses judge it
    def required(compound_code: str) -> int:
        return cfg.rule_for(compound_code[:9]).required_minutes

    rows = []
    for k, m in sorted(entry["minutes_on_site"].items()):
        need = required(entry["subject"] if by_worker else k)
        rows.append({"name": workers.get(int(k), k) if by_worker else compounds.get(k, k), "minutes": m,
                     "required_minutes": need, "met": m >= need})  # fmt: skip
    if by_worker:
        header = required(entry["subject"])
    else:
        needs = {r["required_minutes"] for r in rows}
        header = needs.pop() if len(needs) == 1 else cfg.rule.required_minutes
    return {
        **entry,
        "name": _subject_name(session, entry),
        "minutes": rows,
        "required_minutes": header,
        "found": [
            {**f, "compound_name": compounds.get(f.get("compound_code"), f.get("compound_code") or "")}
            for f in entry["found"]
        ],  # fmt: skip
        "tickets": [
            {"id": t, "state": STATE_LABELS.get(states.get(t, ""), states.get(t, "")), "solved": t in entry["solved"]}
            for t in tickets
        ],  # fmt: skip
        "households": [
            {"building": b, "unit": u, "kind": cfg.households[k].label if k in cfg.households else k}
            for _, b, u, k in households
        ],
    }


def to_markdown(session: Session, entry: dict[str, Any]) -> str:
    """The log as Markdown (for printing or pasting into the group)."""
    name = _subject_name(session, entry)
    lines = [
        f"# 民情工作日志 {entry['date']} · {name}",
        "",
        f"- 巡查到访 / visits: {entry['visits']}",
        f"- 行走 / walked: {entry['walked_m']:.0f} m" if entry["kind"] == "worker" else "",
        "- 在岗时长 / minutes on site: "
        + (", ".join(f"{k}: {v:.0f}" for k, v in sorted(entry["minutes_on_site"].items())) or "—"),
        f"- 检查 / checked: {', '.join(entry['checked']) or '—'}",
        f"- 发现 / found: {len(entry['found'])}",
        *(f"  - {f['item']}: {f.get('note') or ''}" for f in entry["found"]),
        f"- 立单 / ticketed: {', '.join(f'#{t}' for t in entry['ticketed']) or '—'}",
        f"- 办结 / solved: {', '.join(f'#{t}' for t in entry['solved']) or '—'}",
        f"- 走访特殊群体 / households visited: {len(entry['households_visited'])}",
    ]
    return "\n".join(x for x in lines if x != "") + "\n"
