"""物业工单定期通报: the monthly or quarterly report of a 街道 — its KPIs against the previous period and the
12345 change on last year, trends, the communities, the 红黑榜 of property companies and departments, the
worst cells on a small map, 意见箱 and 议事协商 — built once as data, then written as a printable A4 HTML
page (maps/report_page.py), a Word document (report_docx.py) and an Excel workbook (report_xlsx.py).

`write_report` stores the three (figures as JSON, .docx, .xlsx) in evaluation_reports and hands the report
to the notification outbox through `hand_report_to_outbox` (gis.notify event `report_ready`).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import InvalidInput, NotFound
from gis.evaluation import consultations, kpis, rankings, report_map
from gis.evaluation.models import EvaluationReport
from gis.evaluation.units import Period, Unit, resolve_unit
from gis.models import AdminArea, utcnow
from gis.tickets.sla import SHANGHAI

log = logging.getLogger(__name__)

KIND_LABELS = {"monthly": "月度", "quarterly": "季度"}
SUMMARY = (
    "received", "responded_in_sla", "response_rate", "solved", "solve_rate", "on_time_rate", "median_hours",
    "p90_hours", "reopened", "escalated", "follow_up_rate", "satisfaction_rate", "mean_stars", "hotline",
    "hotline_last_year", "hotline_change", "suggestions", "rectify_rate",
)  # fmt: skip


def period_for(kind: str, when: str) -> Period:
    """The period of a report: monthly "2026-11", quarterly "2026-Q4"."""
    if kind == "monthly":
        return Period.month(when)
    if kind == "quarterly":
        return Period.quarter(when)
    raise InvalidInput("kind must be monthly or quarterly")


def _trend_period(period: Period) -> Period:
    first = period.last.replace(day=1)
    for _ in range(5):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, period.last)


def worst_cells(rows: list[dict[str, Any]], names: dict[Any, str], n: int, min_received: int) -> list[dict[str, Any]]:
    """Cells by 解决率 (lowest first), then most ever-overdue, then most received; at most n."""
    cand = [r for r in rows if r["key"] and r["received"] >= min_received]
    cand.sort(key=lambda r: (r["solve_rate"] or 0.0, -r["ever_overdue"], -r["received"], r["key"]))
    return [{**r, "name": names.get(r["key"], r["key"])} for r in cand[:n]]


def build_report(session: Session, street_code: str, kind: str, period: Period) -> dict[str, Any]:
    """Every figure of the 通报 (JSON-ready)."""
    street = resolve_unit(session, "street", street_code)
    cfg = rankings.load_config().get("report", {})
    fig = kpis.compute(session, period, unit=street, user=None)[0]
    prev_period = period.previous()
    prev = kpis.compute(session, prev_period, unit=street, user=None)[0]
    communities = kpis.compute(session, period, unit=street, user=None, group_by="community")
    cells = kpis.compute(session, period, unit=street, user=None, group_by="cell")
    trend_period = _trend_period(period)
    trend = kpis.compute(session, trend_period, unit=street, user=None, group_by="month")
    names = kpis.group_names(session, "community", [r["key"] for r in communities])
    cell_names = kpis.group_names(session, "cell", [r["key"] for r in cells])
    worst = worst_cells(cells, cell_names, int(cfg.get("worst_cells", 8)), int(cfg.get("worst_cells_min_received", 1)))
    shapes = report_map.cell_shapes(session, street.code, period)
    values = {r["key"]: r["solve_rate"] for r in cells}
    worst_codes = [w["key"] for w in worst]
    return {
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "street": {"code": street.code, "name": street.name},
        "title": f"{street.name}物业工单{KIND_LABELS[kind]}通报",
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat(), "label": period.label()},
        "previous": {"from": prev_period.first.isoformat(), "to": prev_period.last.isoformat()},
        "generated_at": utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
        "labels": kpis.LABELS,
        "summary_keys": list(SUMMARY),
        "figures": fig,
        "previous_figures": prev,
        "communities": [{**r, "name": names.get(r["key"], r["key"])} for r in communities],
        "trend": trend,
        "rankings": {
            "property": rankings.rank(session, "property", period, street=street),
            "department": rankings.rank(session, "department", period, street=street),
        },
        "worst_cells": worst,
        "map_svg": report_map.svg_map(shapes, values, worst_codes),
        "map_legend": report_map.legend(),
        "consultations": [_topic_line(t) for t in consultations.street_summary(session, street.code, period)],
    }


def _topic_line(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "compound": t["compound_name"] or t["compound_code"],
        "title": t["title"],
        "status": t["status"],
        "rounds": t["rounds"],
        "meetings_in_period": t["meetings_in_period"],
        "first_agreement_rate": t["first_agreement_rate"],
        "last_agreement_rate": t["last_agreement_rate"],
        "ticket_ids": t["ticket_ids"],
    }


def map_png(session: Session, data: dict[str, Any]) -> bytes:
    """The map of a built report as PNG (the Word document embeds it)."""
    period = Period(date.fromisoformat(data["period"]["from"]), date.fromisoformat(data["period"]["to"]))
    shapes = report_map.cell_shapes(session, data["street"]["code"], period)
    cells = kpis.compute(
        session, period, unit=Unit("street", data["street"]["code"], data["street"]["name"]), user=None, group_by="cell"
    )
    return report_map.png_map(
        shapes, {r["key"]: r["solve_rate"] for r in cells}, [w["key"] for w in data["worst_cells"]]
    )


def period_text(kind: str, period: Period) -> str:
    """The report's period as its URLs spell it: "2026-11" or "2026-Q4"."""
    if kind == "quarterly":
        return f"{period.first.year}-Q{(period.first.month - 1) // 3 + 1}"
    return f"{period.first:%Y-%m}"


def hand_report_to_outbox(session: Session, report: EvaluationReport) -> bool:
    """E2: tell the 街道 its stored 通报 is ready (gis.notify event `report_ready`: admins and the 街道's managers
    get an inbox message with the links to the page, .docx and .xlsx; managers with an e-mail preference an
    e-mail; the 街道's robot a message when notify.yaml names one). Written in the caller's transaction;
    idempotent on the report (街道, kind, period): rewriting it sends nothing new. True when rows were new."""
    from gis.notify import area_events

    period = Period(report.period_start, report.period_end)
    name = str((report.data or {}).get("street", {}).get("name") or report.street_code)
    text = period_text(report.kind, period)
    return area_events.report_ready(session, report.street_code, name, report.kind, text) > 0


def write_report(session: Session, street_code: str, kind: str, period: Period) -> EvaluationReport:
    """Build, render and store (replace) the report; hand it to the outbox."""
    from gis.evaluation.report_docx import report_docx
    from gis.evaluation.report_xlsx import report_xlsx

    data = build_report(session, street_code, kind, period)
    docx = report_docx(data, map_png(session, data))
    xlsx = report_xlsx(data)
    values = {"data": data, "docx": docx, "xlsx": xlsx, "created_at": utcnow(), "period_end": period.last}
    stmt = insert(EvaluationReport).values(kind=kind, street_code=street_code, period_start=period.first, **values)
    session.execute(stmt.on_conflict_do_update(constraint="uq_evaluation_report", set_=values))
    session.flush()
    row = stored(session, street_code, kind, period)
    if row is None:  # pragma: no cover - just written
        raise NotFound("report not stored")
    hand_report_to_outbox(session, row)
    return row


def streets(session: Session) -> list[str]:
    return [s["code"] for s in street_list(session)]


def street_list(session: Session) -> list[dict[str, str]]:
    """Every 街道: code and name."""
    stmt = select(AdminArea.code, AdminArea.name).where(AdminArea.level == "subdistrict").order_by(AdminArea.code)
    return [{"code": c, "name": n} for c, n in session.execute(stmt).all()]


def scheduled_reports(session: Session, today: date | None = None) -> list[str]:
    """On the 1st (Asia/Shanghai): last month's report of every 街道, and last quarter's when a quarter ended."""
    today = today or utcnow().astimezone(SHANGHAI).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    done = []
    for code in streets(session):
        write_report(session, code, "monthly", Period.month(last_month.strftime("%Y-%m")))
        done.append(f"monthly {code} {last_month:%Y-%m}")
        if last_month.month % 3 == 0:
            q = f"{last_month.year}-Q{last_month.month // 3}"
            write_report(session, code, "quarterly", Period.quarter(q))
            done.append(f"quarterly {code} {q}")
        session.commit()
    log.info("evaluation reports written: %s", done)
    return done


def stored(session: Session, street_code: str, kind: str, period: Period) -> EvaluationReport | None:
    """The report as written for that 街道, kind and period, if any."""
    return session.scalar(
        select(EvaluationReport).where(
            EvaluationReport.kind == kind,
            EvaluationReport.street_code == street_code,
            EvaluationReport.period_start == period.first,
        )
    )
