"""Ticket KPIs in SQL for any unit and period, each figure backed by the exact list of tickets it counts.

One per-ticket "facts" row (the ticket, its audit trail summarised, its last rating, whether it had a 回访,
its handling time in working hours) feeds both the counts and the drill-down lists: a count is
`count(*) FILTER (WHERE <predicate>)` and its list is `WHERE <predicate>` over the same rows, so the list
behind a figure always holds exactly that many tickets.

Definitions (the cohort is the tickets *received* in the period — opened_at in [from, to], Asia/Shanghai —
minus merged duplicates; their state is read as it is now):
- received 受理: the cohort.
- responded 响应: the unit answered — an 接单 (claim) or 办结 (resolve) event exists;
  responded_in_sla: responded and the SLA sweep never flagged it overdue at the accept / dispatch / claim
  stage (the `overdue` event in the audit trail). 响应率 = responded_in_sla / received.
- solved 解决: resolved, verified or closed now (resolved_at set). 解决率 = solved / received.
- on_time 按期办结: solved by its resolution deadline (resolved_at ≤ resolve_due_at); per SLA tier too.
- handling time: opened → resolved in working hours (24 h per working date, 调休 Saturdays included, holidays
  not), median and p90 over the solved tickets.
- reopened 重办: reopened at least once. escalated 吹哨: an `escalate` event exists.
- followed_up 回访: solved and at least one follow-up recorded. 回访率 = followed_up / solved.
- rated, satisfied (last rating 4–5 stars) 满意率 = satisfied / rated; mean stars.
- hotline 12345: channel hotline_12345; its change against the same dates a year earlier.
- suggestions 意见箱: channel suggestion; rectified 整改 = solved suggestions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Integer,
    Select,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from gis.errors import InvalidInput
from gis.evaluation.calendar import ensure_calendar, local_date, working_epoch
from gis.evaluation.models import WorkCalendarDay
from gis.evaluation.units import Period, Unit, ticket_filter
from gis.models import AdminArea, Compound, GridCell, Organization, User
from gis.tickets import access as ticket_access
from gis.tickets.config import load_config
from gis.tickets.models import FollowUp, Rating, Ticket, TicketEvent

RESPONSE_STAGES = ("accept", "dispatch", "claim")
HOURS = 3600.0


TICKET_COLUMNS = (
    "id", "category", "channel", "tier", "state", "cell_code", "compound_code", "community_code", "unit_id",
    "opened_at", "resolved_at", "resolve_due_at", "reopen_count", "overdue",
)  # fmt: skip


def facts(
    session: Session, period: Period, where: list[ColumnElement[bool]], *, basic: bool = False
) -> Select[*tuple[Any, ...]]:
    """One row per ticket received in `period` matching `where` (merged duplicates left out).

    The audit trail, ratings and follow-ups are summarised per ticket in LATERAL subqueries: evaluated once per
    row (scalar subqueries in the select list would run once per figure that reads them), one index probe per
    ticket and table. JIT compilation is turned off for the transaction: it cost seconds on these plans."""
    ensure_calendar(session, period.last)
    session.execute(text("SET LOCAL jit = off"))
    base = (
        select(*(getattr(Ticket, c) for c in TICKET_COLUMNS))
        .where(Ticket.opened_at >= period.start, Ticket.opened_at < period.end, Ticket.state != "merged", *where)
        .cte("base")
    )
    if basic:  # the figures of the tickets table alone (BASIC): no audit trail, ratings, follow-ups or calendar
        return select(
            *(base.c[c] for c in TICKET_COLUMNS),
            cast(null(), DateTime(timezone=True)).label("responded_at"),
            false().label("response_late"),
            false().label("escalated"),
            false().label("followed_up"),
            cast(null(), Integer).label("stars"),
            cast(null(), Float).label("handling_s"),
        ).select_from(base)
    ev = TicketEvent
    # per ticket, as LATERAL subqueries: one index probe per ticket and table (the cohort is usually a small part
    # of the audit trail; a hash join would read all of it), evaluated once per row
    events = (
        select(
            func.min(ev.at).filter(ev.action.in_(("claim", "resolve"))).label("responded_at"),
            func.bool_or(and_(ev.action == "overdue", ev.payload["stage"].astext.in_(RESPONSE_STAGES))).label(
                "response_late"
            ),
            func.bool_or(ev.action == "escalate").label("escalated"),
        )
        .where(ev.ticket_id == base.c.id, ev.action.in_(("claim", "resolve", "overdue", "escalate")))
        .lateral("ev")
    )
    last_rating = (
        select(Rating.stars)
        .where(Rating.ticket_id == base.c.id)
        .order_by(Rating.at.desc(), Rating.id.desc())
        .limit(1)
        .lateral("rt")
    )
    followed = select(FollowUp.ticket_id).where(FollowUp.ticket_id == base.c.id).limit(1).lateral("fu")
    wo, wr = aliased(WorkCalendarDay, name="wo"), aliased(WorkCalendarDay, name="wr")
    handling_s = working_epoch(base.c.resolved_at, wr) - working_epoch(base.c.opened_at, wo)
    stmt: Select[*tuple[Any, ...]] = (
        select(
            *(base.c[c] for c in TICKET_COLUMNS),
            events.c.responded_at,
            func.coalesce(events.c.response_late, False).label("response_late"),
            func.coalesce(events.c.escalated, False).label("escalated"),
            followed.c.ticket_id.is_not(None).label("followed_up"),
            last_rating.c.stars,
            handling_s.label("handling_s"),
        )
        .select_from(base)
        .outerjoin(events, true())
        .outerjoin(last_rating, true())
        .outerjoin(followed, true())
        .outerjoin(wo, wo.day == local_date(base.c.opened_at))
        .outerjoin(wr, wr.day == local_date(base.c.resolved_at))
    )
    return stmt


Pred = Callable[[Any], ColumnElement[bool]]


@dataclass(frozen=True)
class Count:
    """A counted figure: a label and the predicate over the facts row (its drill-down list)."""

    label: str
    pred: Pred


COUNTS: dict[str, Count] = {
    "received": Count("受理数", lambda f: true()),
    "responded": Count("响应数", lambda f: f.responded_at.is_not(None)),
    "responded_in_sla": Count("按时响应数", lambda f: and_(f.responded_at.is_not(None), not_(f.response_late))),
    "solved": Count("解决数", lambda f: f.resolved_at.is_not(None)),
    "on_time": Count("按期办结数", lambda f: and_(f.resolved_at.is_not(None), f.resolved_at <= f.resolve_due_at)),
    "unsolved": Count("未解决数", lambda f: f.resolved_at.is_(None)),
    "ever_overdue": Count("曾超期数", lambda f: f.overdue.is_(True)),
    "reopened": Count("重办数", lambda f: f.reopen_count > 0),
    "escalated": Count("吹哨数", lambda f: f.escalated),
    "followed_up": Count("回访数", lambda f: and_(f.resolved_at.is_not(None), f.followed_up)),
    "rated": Count("评价数", lambda f: f.stars.is_not(None)),
    "satisfied": Count("满意数(4–5星)", lambda f: f.stars >= 4),
    "hotline": Count("12345热线量", lambda f: f.channel == "hotline_12345"),
    "suggestions": Count("意见箱建议数", lambda f: f.channel == "suggestion"),
    "suggestions_rectified": Count(
        "意见箱整改数", lambda f: and_(f.channel == "suggestion", f.resolved_at.is_not(None))
    ),
}
# rate → (numerator, denominator, label)
RATES: dict[str, tuple[str, str, str]] = {
    "response_rate": ("responded_in_sla", "received", "响应率"),
    "solve_rate": ("solved", "received", "解决率"),
    "on_time_rate": ("on_time", "solved", "按期办结率"),
    "reopen_rate": ("reopened", "received", "重办率"),
    "follow_up_rate": ("followed_up", "solved", "回访率"),
    "satisfaction_rate": ("satisfied", "rated", "满意率"),
    "rectify_rate": ("suggestions_rectified", "suggestions", "意见箱整改率"),
}
MEASURES = {
    "median_hours": "处置时长中位数(工作小时)",
    "p90_hours": "处置时长P90(工作小时)",
    "mean_stars": "平均星级",
    "hotline_last_year": "去年同期12345热线量",
    "hotline_change": "12345热线同比",
}
LABELS: dict[str, str] = {k: c.label for k, c in COUNTS.items()} | {k: v[2] for k, v in RATES.items()} | MEASURES
DRILLABLE = (*COUNTS, "hotline_last_year")
# the figures that need the audit trail, ratings, follow-ups or the calendar (None in a `basic` computation)
NOT_BASIC = (
    "responded", "responded_in_sla", "response_rate", "escalated", "followed_up", "follow_up_rate", "rated",
    "satisfied", "satisfaction_rate", "median_hours", "p90_hours", "mean_stars",
)  # fmt: skip
BASIC = tuple(k for k in LABELS if k not in NOT_BASIC)

# group keys: facts column (or expression) and label
GROUPS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "cell": (lambda f: f.cell_code, "网格"),
    "compound": (lambda f: f.compound_code, "小区"),
    "community": (lambda f: f.community_code, "社区"),
    "category": (lambda f: f.category, "类别"),
    "tier": (lambda f: f.tier, "时限等级"),
    "channel": (lambda f: f.channel, "渠道"),
    "unit": (lambda f: f.unit_id, "承办单位"),
    "month": (lambda f: func.to_char(func.timezone("Asia/Shanghai", f.opened_at), "YYYY-MM"), "月份"),
}


def _grouping(group_by: str, cols: Any) -> tuple[Any, Any]:
    """(what to group by, the key it shows): a month is grouped by its date_trunc (immutable, so PostgreSQL hashes
    the groups of an index-only scan instead of sorting every row by a string) and shown as YYYY-MM (the same
    key as GROUPS["month"]); other groups by their key."""
    if group_by == "month":
        bucket = func.date_trunc("month", func.timezone("Asia/Shanghai", cols.opened_at))
        return bucket, func.to_char(bucket, "YYYY-MM")
    key = GROUPS[group_by][0](cols)
    return key, key


def _aggregates(f: Any, basic: bool = False) -> list[Any]:
    """`basic`: the counts read from the tickets table only; the audit-trail counts are 0 without reading (they
    are set to None afterwards) and the ordered-set aggregates (percentiles) left out, so PostgreSQL can hash the
    groups instead of sorting every row — the same figures."""
    cols: list[Any] = [
        (literal(0) if basic and k in NOT_BASIC else func.count().filter(c.pred(f))).label(k) for k, c in COUNTS.items()
    ]
    if basic:
        return [*cols, *(null().label(k) for k in ("median_s", "p90_s", "mean_stars"))]
    solved = f.resolved_at.is_not(None)
    cols.append(func.percentile_cont(0.5).within_group(f.handling_s).filter(solved).label("median_s"))
    cols.append(func.percentile_cont(0.9).within_group(f.handling_s).filter(solved).label("p90_s"))
    cols.append(func.avg(f.stars).label("mean_stars"))
    return cols


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(row[k]) for k in COUNTS}
    for name, (num, den, _) in RATES.items():
        out[name] = _ratio(out[num], out[den])
    out["median_hours"] = round(row["median_s"] / HOURS, 2) if row["median_s"] is not None else None
    out["p90_hours"] = round(row["p90_s"] / HOURS, 2) if row["p90_s"] is not None else None
    out["mean_stars"] = round(float(row["mean_stars"]), 2) if row["mean_stars"] is not None else None
    return out


def scope_filters(session: Session, user: User | None, unit: Unit | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if unit is not None:
        where.append(ticket_filter(unit))
    if user is not None:  # None: the system (scheduler, CLI) reads everything
        where.append(ticket_access.visible_filter(session, user))
    return where


def compute(
    session: Session,
    period: Period,
    *,
    unit: Unit | None,
    user: User | None,
    group_by: str | None = None,
    extra: list[ColumnElement[bool]] | None = None,
    basic: bool = False,
) -> list[dict[str, Any]]:
    """KPI rows for the unit and period: one row, or one per group (cell, community, category, tier, month …).
    `basic`: only the figures of the tickets table (BASIC; the others None) — a year's trend in a fraction of the
    time."""
    return _compute(session, period, unit=unit, user=user, group_by=group_by, extra=extra, basic=basic)[1]


def overview(
    session: Session, period: Period, *, unit: Unit | None, user: User | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The unit's figures and its figures per SLA tier (with the tier labels), in one pass over the tickets."""
    total, tiers = _compute(session, period, unit=unit, user=user, group_by="tier", with_total=True)
    labels = {t.code: t.label for p in load_config().profiles.values() for t in p.tiers.values()}
    return total or _finish_row(_EMPTY, 0), [{**r, "tier_label": labels.get(r["key"], r["key"])} for r in tiers]


_EMPTY = {"median_s": None, "p90_s": None, "mean_stars": None, **dict.fromkeys(COUNTS, 0)}


def _finish_row(r: dict[str, Any], prev: int) -> dict[str, Any]:
    fig = _finish(r)
    fig["hotline_last_year"] = prev
    fig["hotline_change"] = _ratio(fig["hotline"] - prev, prev)
    return fig


def _compute(
    session: Session,
    period: Period,
    *,
    unit: Unit | None,
    user: User | None,
    group_by: str | None,
    extra: list[ColumnElement[bool]] | None = None,
    with_total: bool = False,
    basic: bool = False,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(the total row when asked for with a group, the rows): GROUPING SETS ((key), ()) gives both in one pass."""
    where = scope_filters(session, user, unit) + list(extra or [])
    f = facts(session, period, where, basic=basic).subquery("f")
    total, rows = _rows(session, period, f, where, group_by, with_total, basic)
    if basic:
        for r in [*rows, *([total] if total else [])]:
            r.update(dict.fromkeys(NOT_BASIC))
    return total, rows


def _rows(
    session: Session,
    period: Period,
    f: Any,
    where: list[ColumnElement[bool]],
    group_by: str | None,
    with_total: bool,
    basic: bool = False,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if group_by is None:
        row = session.execute(select(*_aggregates(f.c, basic)).select_from(f)).first()
        prev = _hotline_by(session, period.last_year(), where, None).get(None, 0)
        return None, [_finish_row(dict(row._mapping) if row is not None else _EMPTY, prev)]
    if group_by not in GROUPS:
        raise_unknown_group(group_by)
    group, key = _grouping(group_by, f.c)
    stmt = select(key.label("key"), func.grouping(group).label("is_total"), *_aggregates(f.c, basic)).select_from(f)
    sets = func.grouping_sets(tuple_(group), tuple_()) if with_total else group
    rows = [dict(r._mapping) for r in session.execute(stmt.group_by(sets).order_by(group))]
    last_year = _hotline_by(session, period.last_year(), where, group_by)
    if group_by == "month":  # last year's "2025-11" is compared with this year's "2026-11"
        last_year = {f"{int(k[:4]) + 1}{k[4:]}": v for k, v in last_year.items() if k}
    total = None
    out = []
    for r in rows:
        if r["is_total"]:
            total = _finish_row(r, sum(last_year.values()))
            continue
        out.append({"key": r["key"], **_finish_row(r, last_year.get(r["key"], 0))})
    return total, out


def raise_unknown_group(group_by: str) -> None:
    raise InvalidInput(f"unknown breakdown {group_by!r}; use one of {', '.join(GROUPS)}")


def _hotline_by(
    session: Session, period: Period, where: list[ColumnElement[bool]], group_by: str | None
) -> dict[Any, int]:
    """Hotline tickets received in `period` per group (the tickets table alone: the same cohort rule as facts)."""
    group, key = _grouping(group_by, Ticket) if group_by else (literal(None), literal(None))
    stmt = (
        select(key.label("key"), func.count())
        .where(
            Ticket.opened_at >= period.start,
            Ticket.opened_at < period.end,
            Ticket.state != "merged",
            Ticket.channel == "hotline_12345",
            *where,
        )
        .group_by(group)
    )
    return {r[0]: int(r[1]) for r in session.execute(stmt).all()}


def by_tier(session: Session, period: Period, *, unit: Unit | None, user: User | None) -> list[dict[str, Any]]:
    """按期办结 per SLA tier (with the tier's label from the SLA config)."""
    return overview(session, period, unit=unit, user=user)[1]


def tickets_behind(
    session: Session,
    period: Period,
    kpi: str,
    *,
    unit: Unit | None,
    user: User | None,
    group: tuple[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """The tickets a count (or a rate's numerator) counts: how many, and one page of them."""
    kpi = RATES[kpi][0] if kpi in RATES else kpi
    if kpi not in DRILLABLE:
        raise_unknown_kpi(kpi)
    where = scope_filters(session, user, unit)
    if kpi == "hotline_last_year":
        period, kpi = period.last_year(), "hotline"
    f = facts(session, period, where).subquery("f")
    conds = [COUNTS[kpi].pred(f.c)]
    if group is not None:
        if group[0] not in GROUPS:
            raise_unknown_group(group[0])
        expr = GROUPS[group[0]][0](f.c)
        conds.append(expr.is_(None) if group[1] == "" else expr == group[1])
    matched = session.scalar(select(func.count()).select_from(f).where(*conds)) or 0
    stmt = (
        select(f, Organization.name.label("unit_name"))
        .outerjoin(Organization, Organization.id == f.c.unit_id)
        .where(*conds)
        .order_by(f.c.opened_at, f.c.id)
        .limit(limit)
        .offset(offset)
    )
    items = []
    for r in session.execute(stmt).mappings():
        items.append(
            {
                "id": r["id"],
                "category": r["category"],
                "channel": r["channel"],
                "tier": r["tier"],
                "state": r["state"],
                "cell_code": r["cell_code"],
                "compound_code": r["compound_code"],
                "community_code": r["community_code"],
                "unit_name": r["unit_name"],
                "opened_at": r["opened_at"],
                "resolved_at": r["resolved_at"],
                "handling_hours": round(r["handling_s"] / HOURS, 2) if r["handling_s"] is not None else None,
                "stars": r["stars"],
            }
        )
    return matched, items


def raise_unknown_kpi(kpi: str) -> None:
    figures = ", ".join((*DRILLABLE, *RATES))
    raise InvalidInput(f"unknown figure {kpi!r}; figures with a ticket list: {figures}")


def group_names(session: Session, by: str | None, keys: list[Any]) -> dict[Any, str]:
    """Display names of breakdown keys (cell, compound and community names; units; category and tier labels)."""
    keys = [k for k in keys if k is not None]
    if not by or not keys:
        return {}
    stmt: Select[*tuple[Any, ...]]
    if by == "cell":
        stmt = select(GridCell.code, GridCell.name).where(GridCell.code.in_(keys)).order_by(GridCell.valid_from)
    elif by == "compound":
        stmt = select(Compound.code, Compound.name).where(Compound.code.in_(keys))
    elif by == "community":
        stmt = select(AdminArea.code, AdminArea.name).where(AdminArea.code.in_(keys))
    elif by == "unit":
        stmt = select(Organization.id, Organization.name).where(Organization.id.in_(keys))
    elif by == "category":
        cfg = load_config()
        return {k: c.label for k in keys if (c := cfg.categories.get(k)) is not None}
    elif by == "tier":
        return {t.code: t.label for p in load_config().profiles.values() for t in p.tiers.values() if t.code in keys}
    elif by == "channel":
        return {k: CHANNEL_LABELS.get(k, k) for k in keys}
    else:
        return {}
    return {r[0]: r[1] for r in session.execute(stmt).all()}  # later versions win (ordered by valid_from)


CHANNEL_LABELS = {
    "resident": "居民点单",
    "grid_worker": "网格员上报",
    "patrol": "巡查发现",
    "hotline_12345": "12345热线",
    "property_400": "物业400",
    "open311": "Open311",
    "staff": "工作人员",
    "suggestion": "意见箱",
}
