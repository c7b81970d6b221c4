"""Ticket commands for the `gridgov` CLI: `gridgov worker` and `gridgov tickets …`.

api/cli.py calls `register(app)`; imports of the domain happen inside the commands, so the CLI starts
fast and never touches the database at import time.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import cli_session

tickets_app = typer.Typer(help="tickets (工单): periodic work, 12345 import, Open311 keys, demo tickets")


def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="jobs run at the same time")] = 2,
) -> None:
    """Run the periodic-task worker (procrastinate): overdue flags, automatic 吹哨, summaries."""
    from gis.tickets.scheduler import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker(concurrency=concurrency)


@tickets_app.command("sweep")
def sweep() -> None:
    """Run the periodic work once now (without the scheduler): overdue, escalation, yesterday's summary."""
    from gis.db import session_scope
    from gis.tickets import tasks

    with session_scope() as session:
        overdue = tasks.mark_overdue(session)
        escalated = tasks.auto_escalate(session)
        summary = tasks.nightly_summary(session)
    typer.echo(
        json.dumps(
            {"overdue_flagged": len(overdue), "escalated": escalated, "yesterday": summary},
            ensure_ascii=False,
            default=str,
            indent=1,
        )
    )


@tickets_app.command("import-12345")
def import_12345(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .xlsx export of the 12345 platform")
    ],
    username: Annotated[str, typer.Option("--as", help="importing user (admin or manager)")] = "admin",
    dry_run: bool = False,
) -> None:
    """网格+12345: import hotline tickets; prints per-row errors."""
    from sqlalchemy import select

    from gis.models import User
    from gis.tickets.hotline import import_file

    with cli_session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise typer.BadParameter(f"no user {username!r}")
        report = import_file(session, user, path.read_bytes(), filename=path.name, dry_run=dry_run)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    if report["failed"]:
        raise typer.Exit(1)


@tickets_app.command("open311-key")
def open311_key(name: Annotated[str, typer.Argument(help="name of the client application")]) -> None:
    """Create an api_key for an Open311 client (printed once)."""
    from gis.db import session_scope
    from gis.tickets.open311 import create_key

    with session_scope() as session:
        key = create_key(session, name)
    typer.echo(key)


@tickets_app.command("demo")
def demo(count: int = 300, seed: int = 42) -> None:
    """Add demo tickets in every state to the loaded demo 街道."""
    from data.demo_tickets import load_demo_tickets
    from gis.db import session_scope

    with session_scope() as session:
        n = load_demo_tickets(session, seed=seed, count=count)
    typer.echo(f"demo tickets: {n}")


def register(app: typer.Typer) -> None:
    """Add `worker` and the `tickets` group to the gridgov CLI."""
    app.command("worker")(worker)
    app.add_typer(tickets_app, name="tickets")
