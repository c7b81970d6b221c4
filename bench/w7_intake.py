"""W7: ticket intake (anchor + route + SLA + audit) against a bare INSERT of the same row, same run.

    .venv/bin/python -m bench.w7_intake [--tickets 1000] [--concurrency 8]

Measured: (1) the domain function `create_ticket`, one transaction per ticket, in process;
(2) POST /v1/tickets over HTTP (one uvicorn worker, 8 concurrent clients); (3) a bare INSERT of the
same ticket row, one transaction each; (4) an offline batch of 1,000 tickets (POST /v1/tickets/batch).
Runs on its own synthetic community (10 × 10 cells) in the bench database and removes its tickets
afterwards, so other benches' data is untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from typing import Any

import httpx
from shapely.geometry import MultiPolygon, box
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.orm import Session

from bench.common import bench_url, ensure_database, summary, write_result
from bench.w1_locate import free_port
from gis.auth import create_user, login
from gis.migrate import upgrade
from gis.models import AdminArea, GridCell, Organization, User
from gis.tickets.intake import TicketDraft, create_ticket
from gis.tickets.models import IdempotencyKey, Notification, Ticket, TicketEvent, TicketPart

COMMUNITY = "980000000001"
ORIGIN = (101.0, 31.0)
STEP = 0.002  # ~200 m cells
CATEGORIES = ("noise", "garbage", "street_vendor", "streetlight", "dispute")
BARE_INSERT = text(
    "INSERT INTO tickets (token, category, description, geom, source_crs, channel, urgency, state, cell_code, "
    "unit_type, sla_profile, tier, opened_at, overdue, reopen_count, attributes, created_at, updated_at) "
    "VALUES (:token, :category, :description, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'wgs84', 'staff', "
    "'normal', 'reported', :cell, 'police', 'four_level', 'normal', now(), false, 0, '{\"bench\": true}', now(), now())"
)


def _ewkt(geom: Any) -> str:
    return f"SRID=4326;{geom.wkt}"


def ensure_area(session: Session) -> str:
    if session.scalar(select(AdminArea.id).where(AdminArea.code == COMMUNITY)) is None:
        x0, y0 = ORIGIN
        outline = MultiPolygon([box(x0, y0, x0 + 10 * STEP, y0 + 10 * STEP)])
        area = AdminArea(code=COMMUNITY, name="压测社区", level="community", geom=_ewkt(outline))
        session.add(area)
        session.flush()
        for i in range(10):
            for j in range(10):
                cell = box(x0 + i * STEP, y0 + j * STEP, x0 + (i + 1) * STEP, y0 + (j + 1) * STEP)
                session.add(GridCell(code=f"{COMMUNITY}{i * 10 + j + 1:03d}", name=f"压测网格{i}-{j}",
                                     community_id=area.id, geom=_ewkt(MultiPolygon([cell]))))  # fmt: skip
        for ut in ("police", "urban_management"):
            if session.scalar(select(Organization.id).where(Organization.code == f"!B-{ut}")) is None:
                session.add(Organization(code=f"!B-{ut}", name=f"压测{ut}", kind="department", unit_type=ut))
    user = session.scalar(select(User).where(User.username == "bench-w7"))
    if user is None:
        create_user(session, username="bench-w7", password="bench-password", full_name="压测", role="admin")
    session.commit()
    token, _ = login(session, username="bench-w7", password="bench-password")
    session.commit()
    return token


def points(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(ORIGIN[0] + rng.random() * 10 * STEP, ORIGIN[1] + rng.random() * 10 * STEP) for _ in range(n)]


def body(i: int, lon: float, lat: float) -> dict[str, Any]:
    return {"category": CATEGORIES[i % len(CATEGORIES)], "description": f"压测工单 {i}", "lon": lon, "lat": lat,
            "channel": "staff", "attributes": {"bench": True}}  # fmt: skip


def cleanup(session: Session) -> None:
    ids = select(Ticket.id).where(Ticket.attributes["bench"].astext == "true")
    session.execute(text("SET LOCAL gridgov.purge_ticket_events = 'on'"))
    for model in (TicketEvent, TicketPart, Notification):
        session.execute(delete(model).where(model.ticket_id.in_(ids)))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.key.startswith("w7-")))
    session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
    session.commit()


async def post_all(
    base: str, token: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(bodies)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for b in queue:
            t0 = time.perf_counter()
            r = await client.post("/v1/tickets", json=b, headers=headers)
            latencies.append(time.perf_counter() - t0)
            errors += r.status_code != 201

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, errors


def run(tickets: int = 1000, concurrency: int = 8, seed: int = 7) -> dict[str, Any]:
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    pts = points(tickets, seed)
    with Session(engine, expire_on_commit=False) as session:  # as the API's sessions
        token = ensure_area(session)
        admin = session.scalar(select(User).where(User.username == "bench-w7"))
        cleanup(session)
        lat_fn: list[float] = []
        t0 = time.perf_counter()
        for i, (lon, lat) in enumerate(pts):
            s0 = time.perf_counter()
            create_ticket(session, TicketDraft(**body(i, lon, lat)), user=admin)
            session.commit()
            lat_fn.append(time.perf_counter() - s0)
        fn_wall = time.perf_counter() - t0
        lat_sql: list[float] = []
        t0 = time.perf_counter()
        for i, (lon, lat) in enumerate(pts):
            s0 = time.perf_counter()
            row = {"token": f"bench-{seed}-{i}", "category": CATEGORIES[i % 5], "description": f"压测 {i}"}
            session.execute(BARE_INSERT, {**row, "lon": lon, "lat": lat, "cell": f"{COMMUNITY}001"})
            session.commit()
            lat_sql.append(time.perf_counter() - s0)
        sql_wall = time.perf_counter() - t0
        cleanup(session)

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log"], env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        bodies = [body(i, lon, lat) for i, (lon, lat) in enumerate(pts)]
        asyncio.run(post_all(base, token, bodies[:50], concurrency))  # warm-up
        http_wall, http_lat, http_err = asyncio.run(post_all(base, token, bodies, concurrency))
        items = [{"client_key": f"w7-{seed}-{i}", "kind": "ticket", "ticket": b} for i, b in enumerate(bodies[:1000])]
        t0 = time.perf_counter()
        r = httpx.post(f"{base}/v1/tickets/batch", json={"items": items},
                       headers={"Authorization": f"Bearer {token}"}, timeout=120)  # fmt: skip
        batch_s = time.perf_counter() - t0
        batch_ok = r.status_code == 200 and r.json()["created"] == len(items)
    finally:
        server.terminate()
        server.wait(10)
    with Session(engine) as session:
        cleanup(session)
    engine.dispose()
    fn_rate, sql_rate, http_rate = tickets / fn_wall, tickets / sql_wall, tickets / http_wall
    result = {
        "tickets": tickets,
        "concurrency": concurrency,
        "intake_function": {"tickets_per_s": round(fn_rate, 1), **summary(lat_fn)},
        "bare_insert": {"rows_per_s": round(sql_rate, 1), **summary(lat_sql)},
        "http_post": {"tickets_per_s": round(http_rate, 1), "non_201": http_err, **summary(http_lat)},
        "offline_batch_1000": {"seconds": round(batch_s, 2), "all_created": batch_ok},
        "ratio_function_vs_bare_insert": round(fn_rate / sql_rate, 3),
        "ratio_http_vs_bare_insert": round(http_rate / sql_rate, 3),
        "targets": {"tickets_per_s_min": 300, "batch_1000_s_max": 5},
        "note": "one transaction per ticket in every series; client and server share the 2 cores",
    }
    write_result("w7", result)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    print(run(args.tickets, args.concurrency))  # noqa: T201
