"""W12: deliver 10,000 queued notifications to a local receiver, against a plain loop of HTTP POSTs of the same
messages to the same receiver, same run; and the cost of writing the 受理 receipt at intake.

    .venv/bin/python -m bench.w12_notify [--messages 10000] [--intake 300]

The receiver is `gridgov notify receiver` (stdlib ThreadingHTTPServer, WeCom robot format, answers
{"errcode": 0}) in its own process on 127.0.0.1. (1) reference: one keep-alive httpx client POSTing each
message's WeCom body in a loop; (2) the outbox: N rows queued, then the delivery job (claim with FOR UPDATE
SKIP LOCKED, send, record the attempt and the new status in its own commit per message, `concurrency`
messages at once) until none is due; every row must end `delivered` with one attempt.
(3) intake overhead: `create_ticket` of 12345-hotline tickets with a phone (each writes an SMS receipt to the
outbox in the same transaction: one more INSERT) with the shipped rules against the same with no rules, on W7's
community, alternating, best of two rounds each. (W7's own tickets, channel "staff", get no receipt: the check
is a dictionary lookup.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.common import bench_url, cli, ensure_database, free_port, write_result
from bench.w7_intake import cleanup, ensure_area, points
from gis.migrate import upgrade
from gis.models import User
from gis.notify import config as notify_config
from gis.notify.deliver import Deliverer
from gis.notify.models import OutboxMessage
from gis.tickets.intake import TicketDraft, create_ticket

KEY = "w12:"


def _body(i: int) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": f"### 新派工单 #{i}\n- 地址：压测小区{i % 50}号楼"}}


def _start_receiver(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "api.cli", "notify", "receiver", "--port", str(port), "--log", "-",
           "--wecom-key", "bench"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.post(f"http://127.0.0.1:{port}/hook", json={})
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("receiver did not start")


def _queue(session: Session, url: str, n: int) -> None:
    session.execute(delete(OutboxMessage).where(OutboxMessage.key.startswith(KEY)))
    session.execute(
        text(
            "INSERT INTO notify_messages (key, event, channel, address, title, body, data, urgent, status, attempts,"
            " next_attempt_at, created_at) SELECT :k || g, 'dispatched', 'wecom', :url, '新派工单 #' || g,"
            " '- 地址：压测小区' || (g % 50) || '号楼', '{}', false, 'queued', 0, now(), now()"
            " FROM generate_series(1, :n) AS g"
        ),
        {"k": KEY, "url": url, "n": n},
    )
    session.commit()


def _intake(session: Session, n: int, seed: int, user: User) -> float:
    pts = points(n, seed)
    t0 = time.perf_counter()
    for i, (lon, lat) in enumerate(pts):
        draft = TicketDraft(category="noise", description=f"压测工单 {i}", lon=lon, lat=lat, channel="hotline_12345",
                            reporter_name="压测", reporter_phone=f"139{i:08d}", attributes={"bench": True})  # fmt: skip
        create_ticket(session, draft, user=user)
        session.commit()
    return n / (time.perf_counter() - t0)


def run(messages: int = 10000, intake: int = 300, concurrency: int = 8) -> dict[str, Any]:
    url = bench_url()
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url, pool_size=concurrency + 2)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    port = free_port()
    robot = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=bench"
    receiver = _start_receiver(port)
    cfg = notify_config.parse_config({"concurrency": concurrency, "streets": {"*": {}}})
    try:
        with httpx.Client(trust_env=False) as client:
            t0 = time.perf_counter()
            for i in range(messages):
                r = client.post(robot, json=_body(i))
                if r.json().get("errcode") != 0:
                    raise RuntimeError(r.text)
            loop_s = time.perf_counter() - t0
        with sessions() as s:
            _queue(s, robot, messages)
        d = Deliverer(sessions, cfg=cfg)
        t0 = time.perf_counter()
        stats = d.drain(limit=1000, concurrency=concurrency)
        outbox_s = time.perf_counter() - t0
        d.close()
        with sessions() as s:
            delivered = s.scalar(
                select(func.count()).where(
                    OutboxMessage.key.startswith(KEY), OutboxMessage.status == "delivered", OutboxMessage.attempts == 1
                )  # fmt: skip
            )
            s.execute(delete(OutboxMessage).where(OutboxMessage.key.startswith(KEY)))
            s.commit()
    finally:
        receiver.terminate()
        receiver.wait(10)
    result: dict[str, Any] = {
        "messages": messages,
        "concurrency": concurrency,
        "loop_per_s": round(messages / loop_s, 1),
        "outbox_per_s": round(messages / outbox_s, 1),
        "ratio": round(loop_s / outbox_s, 3),
        "target_ratio": 0.5,
        "delivered_once": delivered,
        "stats": {"claimed": stats.claimed, "delivered": stats.delivered, "failed": stats.failed},
    }
    if intake:
        with Session(engine, expire_on_commit=False) as s:
            ensure_area(s)
            staff = s.scalars(select(User).where(User.username == "bench-w7")).one()
            cleanup(s)
            rates: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(2):  # alternate, best of two each: the machine is shared and noisy
                for mode in ("without", "with"):
                    # "without": no rules (the receipt check returns at once); "with": the shipped rules
                    notify_config.set_config(notify_config.parse_config({"rules": []}) if mode == "without" else None)
                    cleanup(s)
                    rates[mode].append(_intake(s, intake, seed=1, user=staff))
            without, with_outbox = max(rates["without"]), max(rates["with"])
            receipts = s.scalar(select(func.count()).where(OutboxMessage.event == "received",
                                                           OutboxMessage.key.like("received:%")))  # fmt: skip
            cleanup(s)
        result["intake"] = {
            "tickets": intake,
            "without_outbox_per_s": round(without, 1),
            "with_outbox_per_s": round(with_outbox, 1),
            "overhead": round(1 - with_outbox / without, 3),
            "target_overhead": 0.10,
            "receipts_written": receipts,
            "rounds": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        }
    engine.dispose()
    write_result("w12", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, messages=10000, intake=300, concurrency=8)
