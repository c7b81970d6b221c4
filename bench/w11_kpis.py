"""W11: every ticket KPI of one 街道 for a month and for a year (gis.evaluation.kpis.compute — what /v1/kpis, the
通报 and the dashboard run) against pandas computing the same figures from the same rows in the same run.

    .venv/bin/python -m bench.w11_kpis [--tickets 1000000] [--repeat 3]

Synthetic 街道 990011000 (8 communities × 40 cells) in a bench database of its own (`…_bench_w11`), tickets spread
evenly over 2025-01 … 2026-12 (so the year-on-year hotline figure has a year to compare with), generated in SQL
with a fixed seed and kept between runs (regenerated when the count differs): ~3 events per ticket (claim, resolve,
some overdue at the claim stage, some 吹哨), ratings for 40 %, follow-ups for half of the solved. The pandas
reference reads the period's rows (tickets, their events, ratings, follow-ups, the working calendar) with one query
each and computes the same figures; it is timed with and without that read. Both answers are compared figure by
figure.
"""

from __future__ import annotations

import statistics
import time
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import admin_token, bench_url, cli, ensure_database, token_page, uvicorn_servers, write_result
from gis.evaluation import areas, kpis, patrols, rankings
from gis.evaluation.calendar import ensure_calendar
from gis.evaluation.units import Period, Unit
from gis.migrate import upgrade

STREET = "990011000"
FIRST, MONTHS = date(2025, 1, 1), 24

_GENERATE = [
    "SELECT setseed(0.11)",
    f"""INSERT INTO admin_areas (code, name, level, geom)
    SELECT '{STREET}', 'W11街道', 'subdistrict', ST_Multi(ST_MakeEnvelope(111, 35, 111.1, 35.1, 4326))
    WHERE NOT EXISTS (SELECT 1 FROM admin_areas WHERE code = '{STREET}')""",
    """INSERT INTO tickets (token, category, description, geom, source_crs, channel, urgency, state, cell_code,
        community_code, unit_type, sla_profile, tier, opened_at, resolved_at, resolve_due_at, overdue, reopen_count,
        attributes, created_at, updated_at)
    SELECT 'w11-' || g, (ARRAY['environment','property_service','road','noise','parking'])[1 + g % 5], 'w11',
        ST_SetSRID(ST_MakePoint(111.05, 35.05), 4326), 'wgs84',
        CASE WHEN r1 < 0.25 THEN 'hotline_12345' WHEN r1 < 0.30 THEN 'suggestion' ELSE 'resident' END, 'normal',
        CASE WHEN r2 < 0.85 THEN 'closed' ELSE 'claimed' END,
        :street || lpad((1 + g % 8)::text, 3, '0') || lpad((1 + (g / 8) % 40)::text, 3, '0'),
        :street || lpad((1 + g % 8)::text, 3, '0'), 'community', 'four_level',
        CASE WHEN r3 < 0.7 THEN 'normal' ELSE 'difficult' END, o,
        CASE WHEN r2 < 0.85 THEN o + make_interval(secs => 3600 + r3 * 400000) END,
        o + make_interval(secs => CASE WHEN r3 < 0.7 THEN 86400 ELSE 259200 END), r3 > 0.9, (r1 > 0.97)::int,
        '{}', o, o
    FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3,
                 timestamptz '2025-01-01 00:00+08' + (g::float8 / :n) * interval '730 days' AS o
          FROM generate_series(1, :n) AS g) AS s""",
    """INSERT INTO ticket_events (ticket_id, at, action, public, payload)
    SELECT id, opened_at + interval '1 hour', 'claim', true, '{}'::jsonb FROM tickets WHERE token LIKE 'w11-%'
    UNION ALL SELECT id, resolved_at, 'resolve', true, '{}'::jsonb FROM tickets
        WHERE token LIKE 'w11-%' AND resolved_at IS NOT NULL
    UNION ALL SELECT id, opened_at + interval '30 minutes', 'overdue', false, '{"stage": "claim"}'::jsonb FROM tickets
        WHERE token LIKE 'w11-%' AND id % 11 = 0
    UNION ALL SELECT id, opened_at + interval '2 hours', 'escalate', true, '{}'::jsonb FROM tickets
        WHERE token LIKE 'w11-%' AND id % 37 = 0""",
    """INSERT INTO ticket_ratings (ticket_id, stars, solved, at)
    SELECT id, 1 + (id::bigint * 7919) % 5, true, resolved_at FROM tickets
    WHERE token LIKE 'w11-%' AND resolved_at IS NOT NULL AND id % 5 < 2""",
    """INSERT INTO ticket_follow_ups (ticket_id, method, outcome, at)
    SELECT id, 'phone', 'satisfied', resolved_at FROM tickets
    WHERE token LIKE 'w11-%' AND resolved_at IS NOT NULL AND id % 2 = 0""",
    "ANALYZE tickets", "ANALYZE ticket_events", "ANALYZE ticket_ratings", "ANALYZE ticket_follow_ups",
]  # fmt: skip

_CLEANUP = [
    "ALTER TABLE ticket_events DISABLE TRIGGER USER",  # the append-only trigger; a bench's own rows only
    "DELETE FROM ticket_events WHERE ticket_id IN (SELECT id FROM tickets WHERE token LIKE 'w11-%')",
    "ALTER TABLE ticket_events ENABLE TRIGGER USER",
    "DELETE FROM ticket_ratings WHERE ticket_id IN (SELECT id FROM tickets WHERE token LIKE 'w11-%')",
    "DELETE FROM ticket_follow_ups WHERE ticket_id IN (SELECT id FROM tickets WHERE token LIKE 'w11-%')",
    "DELETE FROM tickets WHERE token LIKE 'w11-%'",
]


def generate(s: Session, n: int) -> float:
    have = s.scalar(text("SELECT count(*) FROM tickets WHERE token LIKE 'w11-%'")) or 0
    if have == n:
        return 0.0
    t0 = time.perf_counter()
    for stmt in _CLEANUP + _GENERATE:
        s.execute(text(stmt), {"n": n, "street": STREET} if ":n" in stmt or ":street" in stmt else {})
    s.commit()
    return time.perf_counter() - t0


_ROWS = {
    "tickets": """SELECT id, channel, tier, opened_at, resolved_at, resolve_due_at, reopen_count, overdue
        FROM tickets WHERE community_code LIKE :p AND opened_at >= :a AND opened_at < :b AND state <> 'merged'""",
    "events": """SELECT e.ticket_id, e.action, e.at, e.payload->>'stage' AS stage FROM ticket_events e
        JOIN tickets t ON t.id = e.ticket_id
        WHERE t.community_code LIKE :p AND t.opened_at >= :a AND t.opened_at < :b
          AND e.action IN ('claim', 'resolve', 'overdue', 'escalate')""",
    "ratings": """SELECT r.ticket_id, r.stars, r.at, r.id FROM ticket_ratings r JOIN tickets t ON t.id = r.ticket_id
        WHERE t.community_code LIKE :p AND t.opened_at >= :a AND t.opened_at < :b""",
    "follow_ups": """SELECT DISTINCT f.ticket_id FROM ticket_follow_ups f JOIN tickets t ON t.id = f.ticket_id
        WHERE t.community_code LIKE :p AND t.opened_at >= :a AND t.opened_at < :b""",
    "calendar": "SELECT day, working, working_days_before FROM work_calendar",
}


def load(s: Session, period: Period) -> dict[str, pd.DataFrame]:
    conn = s.connection()
    q = {"p": STREET + "%", "a": period.start, "b": period.end}
    return {k: pd.read_sql(text(sql), conn, params=q) for k, sql in _ROWS.items()}


def _working_epoch(ts: pd.Series, cal: pd.DataFrame) -> pd.Series:
    local = ts.dt.tz_convert("Asia/Shanghai")
    day = local.dt.normalize().dt.tz_localize(None)
    c = cal.set_index(pd.to_datetime(cal["day"]))
    before = c["working_days_before"].reindex(day).to_numpy(dtype="float64")
    working = c["working"].reindex(day).to_numpy(dtype="float64")
    inside = (local - local.dt.normalize()).dt.total_seconds().to_numpy()
    return pd.Series(before * 86400 + working * inside, index=ts.index)


def pandas_kpis(d: dict[str, pd.DataFrame], last_year_hotline: int) -> dict[str, Any]:
    t, e = d["tickets"].set_index("id"), d["events"]
    responded = e[e.action.isin(["claim", "resolve"])].groupby("ticket_id").at.min()
    late = e[(e.action == "overdue") & e.stage.isin(["accept", "dispatch", "claim"])].ticket_id.unique()
    escalated = e[e.action == "escalate"].ticket_id.unique()
    r = d["ratings"].sort_values(["ticket_id", "at", "id"]).groupby("ticket_id").stars.last()
    t = t.assign(
        responded=t.index.isin(responded.index), late=t.index.isin(late), escalated=t.index.isin(escalated),
        followed=t.index.isin(d["follow_ups"].ticket_id), stars=r.reindex(t.index),
        solved=t.resolved_at.notna(),
    )  # fmt: skip
    handling = (_working_epoch(t.resolved_at, d["calendar"]) - _working_epoch(t.opened_at, d["calendar"]))[t.solved]
    n = len(t)
    solved = int(t.solved.sum())
    rated = int(t.stars.notna().sum())
    out = {
        "received": n,
        "responded": int(t.responded.sum()),
        "responded_in_sla": int((t.responded & ~t.late).sum()),
        "solved": solved,
        "on_time": int((t.solved & (t.resolved_at <= t.resolve_due_at)).sum()),
        "ever_overdue": int(t.overdue.sum()),
        "reopened": int((t.reopen_count > 0).sum()),
        "escalated": int(t.escalated.sum()),
        "followed_up": int((t.solved & t.followed).sum()),
        "rated": rated,
        "satisfied": int((t.stars >= 4).sum()),
        "hotline": int((t.channel == "hotline_12345").sum()),
        "suggestions": int((t.channel == "suggestion").sum()),
        "suggestions_rectified": int(((t.channel == "suggestion") & t.solved).sum()),
        "median_hours": round(float(handling.median()) / 3600, 2) if solved else None,
        "p90_hours": round(float(handling.quantile(0.9)) / 3600, 2) if solved else None,
        "mean_stars": round(float(t.stars.mean()), 2) if rated else None,
        "hotline_last_year": last_year_hotline,
    }
    out["by_tier_on_time"] = t[t.solved & (t.resolved_at <= t.resolve_due_at)].groupby("tier").size().to_dict()
    return out


def measure(s: Session, period: Period, repeat: int) -> dict[str, Any]:
    street = Unit("street", STREET, "W11街道")
    sql_times, sql = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        sql, tiers = kpis.overview(s, period, unit=street, user=None)  # what /v1/kpis runs
        sql_times.append(time.perf_counter() - t0)
    load_times, compute_times, ref = [], [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = load(s, period)
        ly = load(s, period.last_year())["tickets"]
        t1 = time.perf_counter()
        ref = pandas_kpis(rows, int((ly.channel == "hotline_12345").sum()))
        t2 = time.perf_counter()
        load_times.append(t1 - t0)
        compute_times.append(t2 - t1)
    sql_on_time = {r["key"]: r["on_time"] for r in tiers if r["on_time"]}
    differ = {k: (sql.get(k), v) for k, v in ref.items() if k != "by_tier_on_time" and sql.get(k) != v}
    if sql_on_time != ref["by_tier_on_time"]:
        differ["by_tier_on_time"] = (sql_on_time, ref["by_tier_on_time"])
    best_sql, best_load, best_compute = min(sql_times), min(load_times), min(compute_times)
    return {
        "period": f"{period.first} … {period.last}",
        "tickets": sql["received"],
        "sql_s": round(best_sql, 3),
        "pandas_read_s": round(best_load, 3),
        "pandas_compute_s": round(best_compute, 3),
        "pandas_total_s": round(best_load + best_compute, 3),
        "ratio_pandas_total_over_sql": round((best_load + best_compute) / best_sql, 2),
        "ratio_pandas_compute_only_over_sql": round(best_compute / best_sql, 2),
        "figures_differ": differ,
    }


def dashboard(s: Session, repeat: int) -> dict[str, Any]:
    """The data behind the dashboard's first paint for the 街道 and a month, as its requests compute it: the KPI
    cards (figures, tiers, patrol), the 12-month trend, the categories, the choropleth (computed per cell; this
    synthetic 街道 has no cell shapes to draw), the 红黑榜."""
    street = Unit("street", STREET, "W11街道")
    month = Period.month("2026-11")
    year = Period(date(2025, 12, 1), date(2026, 11, 30))
    steps = {
        "cards": lambda: (
            kpis.overview(s, month, unit=street, user=None),
            patrols.patrol_kpis(s, month, street),
        ),
        "trend_12_months": lambda: kpis.compute(s, year, unit=street, user=None, group_by="month", basic=True),
        "categories_all_figures": lambda: kpis.compute(s, month, unit=street, user=None, group_by="category"),
        "categories": lambda: kpis.compute(s, month, unit=street, user=None, group_by="category", basic=True),
        "map_all_figures": lambda: areas.kpi_map(s, month, unit=street, user=None, level="cell", kpi="received"),
        "map": lambda: areas.kpi_map(s, month, unit=street, user=None, level="cell", kpi="received", basic=True),
        "ranking": lambda: rankings.rank(s, "property", month, street=street),
    }  # fmt: skip
    out = {}
    for name, fn in steps.items():
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            s.rollback()
            best = min(best, time.perf_counter() - t0)
        out[name + "_s"] = round(best, 3)
    page = ("cards", "trend_12_months", "categories", "map", "ranking")
    out["sequential_total_s"] = round(sum(out[k + "_s"] for k in page), 3)
    out["note"] = (
        "the page asks cards, trend, categories (basic), map (basic for a ticket-table figure) and ranking at once;"
        " *_all_figures: the same with every figure, as the page asked before; the browser's own work not included"
    )
    return out


# the first paint: the cards, both charts drawn, the 红黑榜 table and the map's legend filled
PAINTED = """() => document.querySelectorAll('#db-cards .db-card').length > 0
    && document.querySelector('#db-trend svg path') !== null
    && document.querySelector('#db-category svg path') !== null
    && document.querySelector('#db-ranking thead') !== null
    && document.getElementById('db-legend').textContent !== ''"""


def first_paint(url: str, runs: int) -> dict[str, Any]:
    """/maps/dashboard for the 街道 and 2026-11 in headless Chromium, served by uvicorn (one process, as `gridgov
    serve`): seconds from navigation until every part of the first screen is drawn (the median of `runs` after one
    warm-up run), and each data request's duration."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    token = admin_token(url)
    times: list[float] = []
    fetches: dict[str, list[float]] = {}
    with uvicorn_servers("api.app:app_factory", url) as (port,), sync_playwright() as p:
        browser = launch_chromium(p)
        for i in range(runs + 1):
            context, page, errors = token_page(browser, token, 900)
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/maps/dashboard?unit=street&code={STREET}&month=2026-11")
            page.wait_for_function(PAINTED, timeout=120_000, polling=10)
            elapsed = time.perf_counter() - t0
            if errors:
                raise RuntimeError(f"console errors: {errors}")
            if i:
                times.append(elapsed)
                for name, ms in page.evaluate(
                    "performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/'))"
                    ".map(e => [e.name.split('?')[0].replace(/^.*\\/v1\\//, '') + "
                    "(e.name.includes('by=month') ? ' (month)' : e.name.includes('by=category') ? ' (category)' : ''),"
                    " e.duration])"
                ):
                    fetches.setdefault(name, []).append(ms)
            context.close()
        browser.close()
    return {
        "first_paint_s": round(statistics.median(times), 3),
        "runs_s": [round(x, 3) for x in times],
        "fetch_ms_median": {k: round(statistics.median(v)) for k, v in sorted(fetches.items())},
    }


def run(tickets: int, repeat: int, dashboard_only: bool = False) -> dict[str, Any]:
    url = bench_url("w11")  # its own database: beside the demo, its 8 communities made W1 reload the demo
    ensure_database(url)
    upgrade(url)
    eng = create_engine(url)
    with Session(eng) as s:
        gen_s = generate(s, tickets)
        ensure_calendar(s, date(2026, 12, 31))
        s.commit()
        if not dashboard_only:
            month = measure(s, Period.month("2026-11"), repeat)
            year = measure(s, Period(date(2026, 1, 1), date(2026, 12, 31)), repeat)
        board = dashboard(s, repeat)
    eng.dispose()
    board["browser"] = first_paint(url, repeat)
    result = {
        "tickets_total": tickets,
        "generate_s": round(gen_s, 1),
        **({} if dashboard_only else {"street_month": month, "street_year": year}),
        "dashboard_data": board,
        "target": "SQL >= 1x pandas on the same rows (pandas_total: read + compute, as the SQL includes its reads)",
    }
    write_result("w11_dashboard" if dashboard_only else "w11", result)
    return result


if __name__ == "__main__":
    cli(
        run,
        __doc__,
        tickets=(1_000_000, "tickets generated over 2025-01 … 2026-12"),
        repeat=3,
        dashboard_only=(
            False,
            "only the dashboard's data and its first paint in Chromium (written to w11_dashboard.json)",
        ),
    )
