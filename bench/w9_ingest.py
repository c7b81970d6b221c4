"""W9: GPS fix ingest over HTTP — POST /v1/patrols/{id}/fixes with batches of 100, 8 connections from
Debian's `wrk` (a Lua script builds each batch with fresh timestamps and batch key) — against a bare COPY of
the same number of rows into patrol_fixes, same run, same machine (client, server, PostgreSQL share 2 cores).

    .venv/bin/python -m bench.w9_ingest [--seconds 20] [--servers 1]   (needs Debian's wrk: apt-get install wrk)

Each server gets 10 untimed warm-up batches first (another patrol): FastAPI builds its routes' models on the
first request to them (~2 s on this machine under load, otherwise counted in a 15 s run). Each request does the
full work: auth, patrol owner and last good fix, sort/dedupe/flag in Python, one
statement claiming the batch key and inserting the fixes with the far-outside check against the worker's
cell. Runs in the bench database on its own users; removed afterwards.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_url, ensure_database, uvicorn_servers, write_result
from gis.auth import create_user, login
from gis.migrate import downgrade, upgrade
from gis.patrol import partitions

LUA = r"""
local n = 0
local pids = {%(pids)s}
local token = "%(token)s"
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", %(off)d + counter)  -- distinct across the wrk processes of one run
end
function init(args)
  tid = tonumber(tid) or 0  -- the global wrk's setup() gave this thread
end
request = function()
  n = n + 1
  local base = %(t0)d + tid * 1000000 + n * 100  -- 11.6 days (10,000 batches) apart per thread, all in the past
  local parts = {}
  for i = 0, 99 do
    parts[#parts + 1] = string.format('{"t":"%%s","lon":%%.6f,"lat":%%.6f,"accuracy_m":6}',
      os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", base + i), 116.3 + (i %% 10) * 0.0001, 39.9 + (n %% 10) * 0.0001)
  end
  local pid = pids[(n %% #pids) + 1]
  local body = '{"batch_key":"w9-' .. tid .. '-' .. n .. '","fixes":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/v1/patrols/" .. pid .. "/fixes",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--servers", type=int, choices=(1, 2, 4, 8), default=1, help="uvicorn processes (8 clients split)")
    ap.add_argument("--unpartitioned", action="store_true", help="patrol_fixes as before migration 0021 (comparison)")
    args = ap.parse_args()
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    if args.unpartitioned:
        downgrade(url, "0019")
    eng = create_engine(url)
    with Session(eng) as s:
        _cleanup(s)
        user = create_user(s, username="w9-worker", password="w9-password", full_name="W9", role="grid_worker")
        token, _ = login(s, username="w9-worker", password="w9-password")
        uid = user.id
        # the worker staffs one cell around the fixes, so every fix goes through the far-outside check
        area = s.execute(text(
            "INSERT INTO admin_areas (code, name, level, geom) VALUES ('W9C', 'W9', 'community', "
            "ST_Multi(ST_MakeEnvelope(116.29, 39.89, 116.31, 39.91, 4326))) RETURNING id")).scalar_one()  # fmt: skip
        s.execute(text(
            "INSERT INTO grid_cells (code, name, community_id, valid_from, geom) VALUES ('999999999009001', 'W9', :a, "
            "now() - interval '400 days', ST_Multi(ST_MakeEnvelope(116.2995, 39.8995, 116.3015, 39.9015, 4326)))"),
            {"a": area})  # fmt: skip
        s.execute(
            text("INSERT INTO cell_staff (cell_code, user_id, duty) VALUES ('999999999009001', :u, 'worker')"),
            {"u": uid},
        )
        warm = s.execute(text("INSERT INTO patrols (user_id, client_key, started_at) VALUES (:u, 'w9-warm', now()) "
                              "RETURNING id"), {"u": uid}).scalar_one()  # fmt: skip
        pids = s.execute(text(
            "INSERT INTO patrols (user_id, client_key, started_at) SELECT :u, 'w9-' || g, now() "
            "FROM generate_series(1, 8) AS g RETURNING id"), {"u": user.id}).scalars().all()  # fmt: skip
        s.commit()
    conns = 8 // args.servers
    start = datetime.now(UTC) - timedelta(days=300)
    t0 = int(start.timestamp())
    if not args.unpartitioned:  # the months the fixes fall in have their partitions, as a deployment keeps them
        with Session(eng) as s:
            month = partitions.period_start(start.date() - timedelta(days=31), "month")
            while month <= datetime.now(UTC).date():
                nxt = partitions.next_start(month, "month")
                name = partitions.partition_name(month, "month")
                partitions.create_partition(s, name, partitions.local_midnight(month), partitions.local_midnight(nxt))
                month = nxt
            s.commit()
    with uvicorn_servers("api.app:app_factory", url, count=args.servers) as ports:
        for port in ports:  # warm-up (not timed): FastAPI builds its routes' models on the first request to them
            for k in range(10):
                batch = [{"t": (datetime.now(UTC) - timedelta(days=400, seconds=k * 100 + i)).isoformat(),
                          "lon": 116.3, "lat": 39.9} for i in range(100)]  # fmt: skip
                body = {"batch_key": f"warm-{port}-{k}", "fixes": batch}
                auth = {"Authorization": f"Bearer {token}"}
                httpx.post(f"http://127.0.0.1:{port}/v1/patrols/{warm}/fixes", json=body, headers=auth, timeout=60
                           ).raise_for_status()  # fmt: skip
        runs = []
        for k, port in enumerate(ports):  # one wrk per server process (as clients spread behind a proxy)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(LUA % {"pids": ",".join(map(str, pids)), "token": token, "t0": t0, "off": 3 * k})
            runs.append(subprocess.Popen(
                ["wrk", "-t2" if conns > 1 else "-t1", f"-c{conns}", f"-d{args.seconds}s", "-s", f.name, "--latency",
                 f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True))  # fmt: skip
        outs = [r.communicate()[0] for r in runs]
    with Session(eng) as s:
        stored = s.execute(text("SELECT count(*) FROM patrol_fixes WHERE patrol_id = ANY(:p)"), {"p": list(pids)}
                           ).scalar_one()  # fmt: skip
        non2xx = sum(int(m.group(1)) for out in outs if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)))
        reqs = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) for out in outs)  # type: ignore[union-attr]
        p99 = [m.group(1) for out in outs if (m := re.search(r"99%\s+(\S+)", out))]
        # the same number of rows by a bare COPY into the same table (one more patrol of the same user)
        pid = s.execute(text("INSERT INTO patrols (user_id, client_key, started_at) VALUES (:u, 'w9-copy', now()) "
                             "RETURNING id"), {"u": uid}).scalar_one()  # fmt: skip
        s.commit()
        buf = io.StringIO()
        base = start  # the same months (partitions) as the fixes sent over HTTP
        for k in range(stored):
            buf.write(f"{pid}\t{(base + timedelta(seconds=k)).isoformat()}\tSRID=4326;POINT({116.3 + (k % 10) * 0.0001}"
                      f" {39.9 + (k // 100 % 10) * 0.0001})\t6\n")  # fmt: skip
        raw = s.connection().connection.dbapi_connection
        t1 = time.perf_counter()
        with raw.cursor() as cur, cur.copy("COPY patrol_fixes (patrol_id, t, geom, accuracy_m) FROM STDIN") as cp:
            cp.write(buf.getvalue())
        s.commit()
        copy_s = time.perf_counter() - t1
        _cleanup(s)
        s.commit()
    if args.unpartitioned:
        upgrade(url)
    http_fixes_s = stored / args.seconds
    result = {
        "seconds": args.seconds,
        "connections": conns * args.servers,
        "server_processes": args.servers,
        "partitioned": not args.unpartitioned,
        "batch": 100,
        "requests_per_s": reqs,
        "non_2xx": non2xx,
        "p99_latency": p99,
        "fixes_stored": stored,
        "http_fixes_per_s": round(http_fixes_s),
        "copy_fixes_per_s": round(stored / copy_s),
        "ratio_http_over_copy": round(http_fixes_s / (stored / copy_s), 3),
        "wrk": outs,
    }
    print(write_result("w9", result), {k: v for k, v in result.items() if k != "wrk"})


def _cleanup(s: Session) -> None:
    s.execute(text("DELETE FROM patrols WHERE client_key LIKE 'w9-%'"))
    s.execute(text("DELETE FROM idempotency_keys WHERE scope LIKE 'patrol:%'"))
    s.execute(text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE username = 'w9-worker')"))
    s.execute(text("DELETE FROM users WHERE username = 'w9-worker'"))
    s.execute(text("DELETE FROM grid_cells WHERE code = '999999999009001'"))
    s.execute(text("DELETE FROM admin_areas WHERE code = 'W9C'"))


if __name__ == "__main__":
    main()
