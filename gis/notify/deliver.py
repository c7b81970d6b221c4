"""Delivering the outbox: claim due messages (FOR UPDATE SKIP LOCKED, so workers never share a message), send
them, and record each answer in its own transaction right after the channel gave it.

At most once per recipient and channel: a message row exists once (unique key) and is claimed by one worker
at a time (`status = 'sending'` with a lease). An acknowledged message is marked `delivered` in the same commit
as its attempt, before the next message is looked at, so a worker killed mid-run resends nothing that was
acknowledged; what it had claimed but not yet sent becomes due again when the lease ends. (The one window left —
killed between the channel's answer and that commit — is narrowed by passing the key to channels that
de-duplicate: the webhook's X-Gridgov-Idempotency-Key, Aliyun's OutId, the e-mail's Message-ID.)
Failures (timeout, 5xx, an error code in the answer) are retried with exponential backoff
(base × 2^(attempt-1), at most max_seconds) until max_attempts, then the message is `failed` with the answer."""

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
from sqlalchemy import DateTime, Integer, bindparam, text
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
    by_channel: dict[str, int] = field(default_factory=dict)


def backoff(cfg: NotifyConfig, attempts: int) -> timedelta:
    r = cfg.retry
    return timedelta(seconds=min(r.base_seconds * 2 ** max(attempts - 1, 0), r.max_seconds))


def claim(session: Session, *, now: datetime, limit: int, cfg: NotifyConfig) -> list[dict[str, Any]]:
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
        with self.sessions() as s:
            rows = claim(s, now=now or utcnow(), limit=limit, cfg=self.cfg)
        stats = Stats(claimed=len(rows))
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
            if not st.claimed:
                return total
            for name in ("claimed", "delivered", "retried", "failed"):
                setattr(total, name, getattr(total, name) + getattr(st, name))


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
            for name in ("claimed", "delivered", "retried", "failed"):
                setattr(total, name, getattr(total, name) + getattr(st, name))
            if not st.claimed:
                time.sleep(poll)
    finally:
        d.close()
    return total
