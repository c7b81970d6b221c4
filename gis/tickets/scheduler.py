"""The periodic-task scheduler: procrastinate (PostgreSQL-backed, no extra server).

Jobs live in PostgreSQL (procrastinate_* tables), so they survive restarts; periodic jobs are deferred
with a unique (task, periodic id, timestamp) row, so several workers — one per API host, say — never
run the same tick twice. Run a worker with `gridgov worker` (or `gridgov serve --with-worker`).
The procrastinate schema is applied on first start (under an advisory lock, so concurrent first starts
are safe); the work itself is plain functions in gis.tickets.tasks.
"""

from __future__ import annotations

import logging
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gis.db import get_engine, session_factory, session_scope
from gis.notify import deliver
from gis.notify.config import startup_check
from gis.settings import get_settings
from gis.tickets import tasks

log = logging.getLogger(__name__)

NOTIFY_CRON = "* * * * *"  # the notification delivery job (gis.notify.deliver.run_for), every minute …
NOTIFY_SECONDS = 55  # … each run polling for this long
SHUTDOWN_GRACE = 2.0
SCHEMA_LOCK = 4_200_311  # advisory-lock key for applying the procrastinate schema
# procrastinate evaluates cron in UTC: 16:30 UTC is 00:30 Asia/Shanghai, 01:00 UTC on the 1st is 09:00.
CRON = {
    "mark_overdue": "*/5 * * * *",
    "auto_escalate": "*/15 * * * *",
    "nightly_summary": "30 16 * * *",
    "monthly_report": "0 1 1 * *",
    "sweep_uploads": "45 * * * *",
    "patrol_partitions": "15 16 * * *",  # 00:15: patrol_fixes partitions ahead / past retention (patrol.yaml)
    "nightly_patrols": "45 16 * * *",  # 00:45: close unended patrols, site minutes, 民情工作日志
    "evaluation_reports": "0 2 1 * *",  # 10:00 on the 1st: each 街道's 通报 (monthly; quarterly after a quarter)
}


def conninfo(sqlalchemy_url: str) -> str:
    """libpq connection string for procrastinate from the SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def ensure_schema(app: procrastinate.App) -> None:
    """Apply procrastinate's schema once (idempotent, safe when several workers start together)."""
    with get_engine().begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
        present = conn.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        if not present:
            conn.exec_driver_sql(app.schema_manager.get_schema().replace("%", "%%"))  # no placeholders
            log.info("procrastinate schema applied")


def _run(name: str) -> Any:
    with session_scope() as session:
        fn = getattr(tasks, name)
        result = fn(session)
    log.info("%s done: %s", name, result if isinstance(result, list) else "ok")
    return result if isinstance(result, list) else None


def make_app(sqlalchemy_url: str | None = None) -> procrastinate.App:
    """The procrastinate app with the ticket tasks and their periodic schedule."""
    url = sqlalchemy_url or get_settings().sqlalchemy_url
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))

    for name, cron in CRON.items():

        def job(timestamp: int, _name: str = name) -> None:
            _run(_name)

        job.__name__ = name
        task = app.task(name=f"tickets.{name}", queue="tickets", queueing_lock=f"tickets.{name}")(job)
        app.periodic(cron=cron, periodic_id=name)(task)

    def deliver_notifications(context: procrastinate.JobContext, timestamp: int) -> None:
        # runs ~a minute, polling every 2 s: a message goes out seconds after its event commits; stops early
        # when the worker shuts down (then a message claimed and not sent is due again when its lease ends)
        stats = deliver.run_for(session_factory(), NOTIFY_SECONDS, stop=context.should_abort)
        log.info("notifications: %s delivered, %s retried, %s failed, %s held by quiet hours", stats.delivered,
                 stats.retried, stats.failed, stats.postponed)  # fmt: skip

    notify = app.task(name="notify.deliver", queue="notify", queueing_lock="notify.deliver", pass_context=True)(
        deliver_notifications
    )
    app.periodic(cron=NOTIFY_CRON, periodic_id="notify_deliver")(notify)
    return app


def run_worker(*, concurrency: int = 2) -> None:
    """Run the scheduler + worker in the foreground until SIGINT/SIGTERM (one slot for the notification
    delivery job, one for the ticket tasks). A misconfigured notification channel stops it here."""
    startup_check()
    app = make_app()
    ensure_schema(app)
    log.info("gridgov worker: periodic ticket tasks %s", ", ".join(f"{k} ({v})" for k, v in CRON.items()))
    # after SHUTDOWN_GRACE s of a stop, running jobs are asked to abort: the delivery job returns at once
    app.run_worker(
        queues=["tickets", "notify"], concurrency=concurrency, wait=True, shutdown_graceful_timeout=SHUTDOWN_GRACE
    )
