"""W7: ticket intake (anchor + route + SLA + audit) against a bare INSERT of the same row, same run.

    .venv/bin/python -m bench.w7_intake [--tickets 1000] [--concurrency 8] [--workers 1]

Measured: (1) the domain function `create_ticket`, one transaction per ticket, in process;
(2) POST /v1/tickets over HTTP (`--workers` single-worker uvicorn processes, default 1, 8 concurrent
keep-alive connections from a minimal asyncio HTTP/1.1 client); (3) a bare INSERT of the same ticket row,
one transaction each; (4) an offline batch of 1,000 tickets (POST /v1/tickets/batch).
Every series does the full work per ticket (checks, anchor, route, duplicate search, SLA deadlines, the
ticket row and its audit event) in its own transaction; client, server and PostgreSQL share the 2 cores.
Runs on its own synthetic community (10 × 10 cells) in the bench database and removes its tickets
afterwards, so other benches' data is untouched.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
from shapely.geometry import MultiPolygon, box
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.orm import Session

from bench.common import bench_url, cli, ensure_database, summary, uvicorn_servers, write_result
from gis.auth import create_user, login
from gis.migrate import upgrade
from gis.models import AdminArea, GridCell, Organization, User
from gis.notify.models import OutboxMessage
from gis.tickets.events import purge_events
from gis.tickets.intake import TicketDraft, create_ticket
from gis.tickets.models import IdempotencyKey, Ticket, TicketPart

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
    purge_events(session, ids)
    for model in (TicketPart, OutboxMessage):
        session.execute(delete(model).where(model.ticket_id.in_(ids)))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.key.startswith("w7-")))
    session.execute(delete(Ticket).where(Ticket.id.in_(ids)))
    session.commit()


async def _post_loop(
    host: str, port: int, token: str, queue: Iterator[dict[str, Any]], latencies: list[float]
) -> tuple[int, int]:
    """One keep-alive connection POSTing bodies from the shared queue; returns (201 answers, others).

    A minimal HTTP/1.1 client on asyncio streams: httpx spent ~1.3 ms of CPU per request, on the same
    two cores as the server. Every answer is read in full and must be 201 with the new ticket's id."""
    reader, writer = await asyncio.open_connection(host, port)
    head = f"POST /v1/tickets HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: "
    created = failed = 0
    try:
        for b in queue:
            payload = orjson.dumps(b)
            t0 = time.perf_counter()
            writer.write(b"%s%d\r\n\r\n%s" % (head.encode(), len(payload), payload))
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status == 201 and isinstance(orjson.loads(answer).get("id"), int):
                created += 1
            else:
                failed += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return created, failed


async def post_all(
    bases: list[tuple[str, int]], token: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float], int]:
    """POST the bodies over `concurrency` keep-alive connections spread round-robin over the servers;
    returns (wall seconds, latencies, number of answers that are not 201 with an id)."""
    latencies: list[float] = []
    queue = iter(bodies)
    t0 = time.perf_counter()
    counts = await asyncio.gather(
        *(_post_loop(*bases[i % len(bases)], token, queue, latencies) for i in range(concurrency))
    )
    wall = time.perf_counter() - t0
    return wall, latencies, sum(failed for _, failed in counts)


def run(tickets: int = 1000, concurrency: int = 8, seed: int = 7, workers: int = 1) -> dict[str, Any]:
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

    # `workers` uvicorn processes, each on its own port, the clients spread over them
    with uvicorn_servers("api.app:app_factory", url, count=workers) as ports:
        bases = [("127.0.0.1", port) for port in ports]
        bodies = [body(i, lon, lat) for i, (lon, lat) in enumerate(pts)]
        asyncio.run(post_all(bases, token, bodies[:50], concurrency))  # warm-up
        http_wall, http_lat, http_err = asyncio.run(post_all(bases, token, bodies, concurrency))
        items = [{"client_key": f"w7-{seed}-{i}", "kind": "ticket", "ticket": b} for i, b in enumerate(bodies[:1000])]
        t0 = time.perf_counter()
        r = httpx.post(f"http://127.0.0.1:{ports[0]}/v1/tickets/batch", json={"items": items},
                       headers={"Authorization": f"Bearer {token}"}, timeout=120)  # fmt: skip
        batch_s = time.perf_counter() - t0
        batch_ok = r.status_code == 200 and r.json()["created"] == len(items)
    with Session(engine) as session:
        cleanup(session)
    engine.dispose()
    fn_rate, sql_rate, http_rate = tickets / fn_wall, tickets / sql_wall, tickets / http_wall
    result = {
        "tickets": tickets,
        "concurrency": concurrency,
        "api_processes": workers,
        "intake_function": {"tickets_per_s": round(fn_rate, 1), **summary(lat_fn)},
        "bare_insert": {"rows_per_s": round(sql_rate, 1), **summary(lat_sql)},
        "http_post": {"tickets_per_s": round(http_rate, 1), "non_201": http_err, **summary(http_lat)},
        "offline_batch_1000": {"seconds": round(batch_s, 2), "all_created": batch_ok},
        "ratio_function_vs_bare_insert": round(fn_rate / sql_rate, 3),
        "ratio_http_vs_bare_insert": round(http_rate / sql_rate, 3),
        "targets": {"tickets_per_s_min": 300, "batch_1000_s_max": 5},
        "note": "one transaction per ticket in every series; client, API and PostgreSQL share the 2 cores",
    }
    write_result("w7", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, tickets=1000, concurrency=8, workers=(1, "uvicorn processes, each on its own port"))
