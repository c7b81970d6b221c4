"""W4: vector tiles of tickets at z12, z14 and z16 over HTTP with `wrk` (8 connections, an admin's token),
against, in the same run: the raw ST_AsMVT statement gridgov runs for the tile, through `pgbench`, and tipg's
tile endpoint on the same table.

    .venv/bin/python -m bench.w4_tiles [--tickets 100000] [--seconds 8]

In W6's database (a synthetic community of 20 × 20 cells and tickets bulk-inserted by W6's loader; 1e6 with
--tickets 1000000). Target: ≥ 0.8× the raw statement's rate.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bench.common import admin_token, cli, ensure_database, inline, pgbench, uvicorn_servers, write_result, wrk
from bench.w3_pages import tipg_server
from bench.w6_operations_map import ORIGIN, STEP, N, ensure_area, load_tickets, w6_url
from gis import auth
from gis.db import read_bind, read_session, session_factory
from gis.migrate import upgrade
from gis.tickets.models import Ticket
from gis.tiles import TILE_LAYERS, _tile_sql

ZOOMS = (12, 14, 16)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def tile_sql(url: str, token: str) -> str:
    """The statement gridgov runs for an admin's ticket tile, values written in, :z :x :y left to pgbench."""
    engine = create_engine(url)
    with read_session(read_bind(session_factory(engine))) as session:
        sql, params = _tile_sql(session, "tickets", auth.user_for_token(session, token))
    engine.dispose()
    return inline(sql, params, ("z", "x", "y", "cap"))


def run(tickets: int = 100_000, seconds: int = 8) -> dict[str, Any]:
    url = w6_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        ensure_area(session)
        have = session.scalar(select(func.count()).select_from(Ticket)) or 0
        if have < tickets:
            load_tickets(session, have + 1, tickets)
        count = session.scalar(select(func.count()).select_from(Ticket))
    engine.dispose()
    token = admin_token(url)
    auth_header = {"Authorization": f"Bearer {token}"}
    centre = (ORIGIN[0] + N * STEP / 2, ORIGIN[1] + N * STEP / 2)
    sql = tile_sql(url, token)
    rows: dict[str, Any] = {}
    raw: dict[int, float] = {}
    for z in ZOOMS:
        x, y = tile_of(*centre, z)
        cap = TILE_LAYERS["tickets"].bound_cap(z)  # the zoom's feature cap, as the server binds it
        raw[z] = pgbench(url, f"\\set z {z}\n\\set x {x}\n\\set y {y}\n\\set cap {cap}\n{sql}", seconds=seconds)
    with uvicorn_servers("api.app:app_factory", url) as (port,), tipg_server(url) as tipg_port:
        for z in ZOOMS:
            x, y = tile_of(*centre, z)
            ours_url = f"http://127.0.0.1:{port}/tiles/tickets/{z}/{x}/{y}.pbf"
            tipg_url = f"http://127.0.0.1:{tipg_port}/collections/public.tickets/tiles/WebMercatorQuad/{z}/{x}/{y}"
            tipg_url += "?properties=token,category,state,urgency,overdue"
            size = len(httpx.get(ours_url, headers=auth_header, timeout=60).content)
            httpx.get(tipg_url, timeout=60)
            ours = wrk(ours_url, seconds=seconds, headers=auth_header)
            tipg = wrk(tipg_url, seconds=seconds)
            rows[f"z{z}"] = {
                "tile": f"{z}/{x}/{y}",
                "bytes": size,
                "gridgov": ours,
                "tipg": tipg,
                "raw_st_asmvt_per_s": raw[z],
                "ratio_vs_raw": round(ours["req_per_s"] / raw[z], 3) if raw[z] else None,
                "ratio_tipg_vs_raw": round(tipg["req_per_s"] / raw[z], 3) if raw[z] else None,
            }
    result = {
        "tickets": count,
        "seconds": seconds,
        "tiles": rows,
        "targets": {"ratio_vs_raw_min": 0.8},
        "note": "wrk 8 connections, pgbench 8 clients; server, tipg, PostgreSQL and the load share the cores",
    }
    write_result("w4", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, tickets=100_000, seconds=8)
