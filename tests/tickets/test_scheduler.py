"""The scheduler registers the periodic ticket work and connects with the app's database settings."""

from __future__ import annotations

from gis.tickets.scheduler import CRON, NOTIFY_CRON, conninfo, make_app


def test_periodic_tasks_are_registered() -> None:
    app = make_app("postgresql+psycopg://gridgov@127.0.0.1:54329/gridgov")
    assert {f"tickets.{name}" for name in CRON} <= set(app.tasks)
    periodic = {p.periodic_id: p.cron for p in app.periodic_registry.periodic_tasks.values()}
    assert periodic == {**CRON, "notify_deliver": NOTIFY_CRON}
    assert "notify.deliver" in app.tasks


def test_conninfo_is_libpq() -> None:
    assert conninfo("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
