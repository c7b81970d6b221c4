"""Delivering the outbox: claim due messages (FOR UPDATE SKIP LOCKED, so workers never share a message), send
them, and record each answer in its own transaction right after the channel gave it.

At most once per recipient and channel: a message row exists once (unique key) and is claimed by one worker
at a time (`status = 'sending'` with a lease). An acknowledged message is marked `delivered` in the same commit
as its attempt, before the next message is looked at, so a worker killed mid-run resends nothing that was
acknowledged; what it had claimed but not yet sent becomes due again when the lease ends. (The one window left —
killed between the channel's answer and that commit — is narrowed by passing the key to channels that
de-duplicate: the webhook's X-Gridgov-Idempotency-Key, Aliyun's OutId, the e-mail's Message-ID.)
Failures (timeout, 5xx, an error code in the answer) are retried with exponential backoff
(base × 2^(attempt-1), at most max_seconds) until max_attempts, then the message is `failed` with the answer.
Quiet hours hold at delivery too: a due SMS that is not urgent (重大风险, `urgent_tiers`) whose recipient is in
their quiet hours (their preference, else the config's) is moved to the end of the quiet period before the claim,
neither sent nor counted as an attempt — so a retry's backoff never sends an SMS at night."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import DateTime, Integer, Time, bindparam, text
from sqlalchemy.orm import Session, sessionmaker

from gis.models import utcnow
from gis.notify.channels import Answer, Outgoing, send
from gis.notify.config import NotifyConfig, load_config
from gis.settings import get_settings

log = logging.getLogger(__name__)

_CLAIM = text(
    """
UPDATE notify_messages AS m
SET status = 'sending', attempts = m.attempts + 1, lease_until = :now + make_interval(secs => :lease)
WHERE m.id IN (
    SELECT id FROM notify_messages
    WHERE next_attempt_at <= :now AND channel <> 'inbox'
      AND (status = 'queued' OR (status = 'sending' AND lease_until < :now))
    ORDER BY next_attempt_at, id
    LIMIT :n
    FOR UPDATE SKIP LOCKED
)
RETURNING m.id, m.key, m.event, m.channel, m.address, m.title, m.body, m.link, m.data, m.street_code, m.attempts
"""
).bindparams(bindparam("now", type_=DateTime(timezone=True)), bindparam("n", type_=Integer()))

# a due, non-urgent SMS whose recipient is in quiet hours (Asia/Shanghai; the user's, else the config's) waits
# until they end; `local` is the wall-clock time there, `qs`/`qe` the quiet period (equal: none)
_POSTPONE = text(
    """
WITH due AS (
    SELECT m.id, (CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai') AS local,
           CASE WHEN p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL THEN p.quiet_start ELSE :qs END AS qs,
           CASE WHEN p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL THEN p.quiet_end ELSE :qe END AS qe
    FROM notify_messages AS m LEFT JOIN notify_preferences AS p ON p.user_id = m.user_id
    WHERE m.channel = 'sms' AND NOT m.urgent AND m.next_attempt_at <= :now
      AND (m.status = 'queued' OR (m.status = 'sending' AND m.lease_until < :now))
    FOR UPDATE OF m SKIP LOCKED
), quiet AS (
    SELECT id, ((CAST(local AS date) + CASE WHEN CAST(local AS time) < qe THEN 0 ELSE 1 END) + qe)
               AT TIME ZONE 'Asia/Shanghai' AS until
    FROM due
    WHERE qs <> qe AND CASE WHEN qs < qe THEN CAST(local AS time) >= qs AND CAST(local AS time) < qe
                            ELSE CAST(local AS time) >= qs OR CAST(local AS time) < qe END
)
UPDATE notify_messages AS m SET next_attempt_at = quiet.until, status = 'queued', lease_until = NULL
FROM quiet WHERE m.id = quiet.id
"""
).bindparams(
    bindparam("now", type_=DateTime(timezone=True)), bindparam("qs", type_=Time()), bindparam("qe", type_=Time())
)

# the attempt and the message's new state in one statement and one commit
_RECORD = text(
    """
WITH a AS (
    INSERT INTO notify_attempts (message_id, at, ok, status_code, answer, error, duration_ms)
    VALUES (:id, :at, :ok, :status_code, :answer, :error, :ms)
)
UPDATE notify_messages
SET status = CASE WHEN :ok THEN 'delivered' WHEN attempts >= :max_attempts THEN 'failed' ELSE 'queued' END,
    delivered_at = CASE WHEN :ok THEN :at ELSE NULL END,
    next_attempt_at = CASE WHEN :ok THEN next_attempt_at ELSE :retry_at END,
    last_error = CASE WHEN :ok THEN NULL ELSE :error END,
    lease_until = NULL
WHERE id = :id AND status = 'sending'
"""
).bindparams(bindparam("at", type_=DateTime(timezone=True)), bindparam("retry_at", type_=DateTime(timezone=True)))


@dataclass
class Stats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    postponed: int = 0  # SMS held back by quiet hours (not attempted)
    by_channel: dict[str, int] = field(default_factory=dict)

    def add(self, other: Stats) -> None:
        for name in ("claimed", "delivered", "retried", "failed", "postponed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for ch, n in other.by_channel.items():
            self.by_channel[ch] = self.by_channel.get(ch, 0) + n


def backoff(cfg: NotifyConfig, attempts: int) -> timedelta:
    r = cfg.retry
    return timedelta(seconds=min(r.base_seconds * 2 ** max(attempts - 1, 0), r.max_seconds))


def postpone_quiet(session: Session, *, now: datetime, cfg: NotifyConfig) -> int:
    """Move due non-urgent SMS whose recipient is in quiet hours to the end of them; how many (not committed)."""
    q = cfg.quiet_hours
    result = session.execute(_POSTPONE, {"now": now, "qs": q.start, "qe": q.end})
    return int(getattr(result, "rowcount", 0) or 0)


def claim(
    session: Session, *, now: datetime, limit: int, cfg: NotifyConfig, stats: Stats | None = None
) -> list[dict[str, Any]]:
    postponed = postpone_quiet(session, now=now, cfg=cfg)
    if stats is not None:
        stats.postponed += postponed
    rows = session.execute(_CLAIM, {"now": now, "n": limit, "lease": cfg.retry.lease_seconds}).mappings().all()
    session.commit()
    return [dict(r) for r in rows]


class Deliverer:
    """Sends claimed messages and records the answers; one per job run (an HTTP client with keep-alive)."""

    def __init__(self, sessions: sessionmaker[Session], *, cfg: NotifyConfig | None = None,
                 log_path: Path | None = None, client: httpx.Client | None = None) -> None:  # fmt: skip
        self.sessions = sessions
        self.cfg = cfg or load_config()
        self.log_path = log_path or get_settings().notify_log
        limits = httpx.Limits(
            max_connections=self.cfg.concurrency * 2, max_keepalive_connections=self.cfg.concurrency * 2
        )
        self.client = client or httpx.Client(timeout=self.cfg.retry.timeout_seconds, trust_env=False, limits=limits)

    def close(self) -> None:
        self.client.close()

    def _one(self, row: dict[str, Any], now: datetime | None) -> tuple[str, Answer]:
        msg = Outgoing(row["id"], row["key"], row["event"], row["channel"], row["address"], row["title"], row["body"],
                       row["link"], row["data"] or {})  # fmt: skip
        _, channels = self.cfg.street_for(row["street_code"])
        started = time.perf_counter()
        answer = send(self.client, msg, channels, log_path=self.log_path, timeout=self.cfg.retry.timeout_seconds)
        ms = int((time.perf_counter() - started) * 1000)
        at = now or utcnow()
        with self.sessions() as s:
            s.execute(_RECORD, {
                "id": msg.id, "at": at, "ok": answer.ok, "status_code": answer.status_code, "answer": answer.answer,
                "error": answer.error, "ms": ms, "max_attempts": self.cfg.retry.max_attempts,
                "retry_at": at + backoff(self.cfg, row["attempts"]),
            })  # fmt: skip
            s.commit()
        if not answer.ok:
            log.warning("notification %s via %s not acknowledged (attempt %s): %s", msg.id, msg.channel,
                        row["attempts"], answer.error)  # fmt: skip
        kind = "delivered" if answer.ok else ("failed" if row["attempts"] >= self.cfg.retry.max_attempts else "retried")
        return kind, answer

    def run_once(self, *, now: datetime | None = None, limit: int = 500, concurrency: int | None = None) -> Stats:
        """Claim up to `limit` due messages and deliver them (`concurrency` at once; 1: in this thread)."""
        stats = Stats()
        with self.sessions() as s:
            rows = claim(s, now=now or utcnow(), limit=limit, cfg=self.cfg, stats=stats)
        stats.claimed = len(rows)
        workers = concurrency or self.cfg.concurrency
        if workers <= 1 or len(rows) <= 1:
            results = [self._one(r, now) for r in rows]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda r: self._one(r, now), rows))
        for row, (kind, _) in zip(rows, results, strict=True):
            setattr(stats, kind, getattr(stats, kind) + 1)
            stats.by_channel[row["channel"]] = stats.by_channel.get(row["channel"], 0) + 1
        return stats

    def drain(self, *, now: datetime | None = None, limit: int = 500, concurrency: int | None = None) -> Stats:
        """Deliver until nothing is due."""
        total = Stats()
        while True:
            st = self.run_once(now=now, limit=limit, concurrency=concurrency)
            total.add(st)
            if not st.claimed:
                return total


def deliver_due(sessions: sessionmaker[Session], *, now: datetime | None = None, concurrency: int | None = None,
                cfg: NotifyConfig | None = None, log_path: Path | None = None) -> Stats:  # fmt: skip
    """Deliver everything due now (tests, `gridgov notify deliver`)."""
    d = Deliverer(sessions, cfg=cfg, log_path=log_path)
    try:
        return d.drain(now=now, concurrency=concurrency)
    finally:
        d.close()


def run_for(
    sessions: sessionmaker[Session], seconds: float, *, poll: float = 2.0, stop: Callable[[], bool] = lambda: False
) -> Stats:
    """The procrastinate job's body: deliver what is due, poll for new messages, for about `seconds` or until
    `stop()` (the worker shutting down): a batch is at most `limit` messages, so it ends within seconds."""
    d = Deliverer(sessions)
    total = Stats()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not stop():
            st = d.run_once(limit=100)
            total.add(st)
            if not st.claimed:
                time.sleep(poll)
    finally:
        d.close()
    return total
