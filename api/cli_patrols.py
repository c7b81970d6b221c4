"""Patrol commands for the `gridgov` CLI: `gridgov patrols log --date D [--compound C | --worker ID] [--md | --html]`,
`gridgov patrols nightly [--date D]` and `gridgov patrols partitions [--ensure] [--prune [--dry-run]]`. Domain
imports happen inside the commands."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from api.cli_common import cli_session

patrols_app = typer.Typer(help="patrols (巡查): 民情工作日志, nightly job", no_args_is_help=True)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise typer.BadParameter(f"use YYYY-MM-DD, got {value!r}") from exc


@patrols_app.command("log")
def log_cmd(
    day: Annotated[str, typer.Option("--date", help="local day YYYY-MM-DD")],
    compound: Annotated[str | None, typer.Option(help="compound code (default: every log of the day)")] = None,
    worker: Annotated[int | None, typer.Option(help="worker user id")] = None,
    md: Annotated[bool, typer.Option("--md", help="Markdown instead of JSON")] = False,
    html: Annotated[bool, typer.Option("--html", help="the printable A4 page (with --compound or --worker)")] = False,
) -> None:
    """Print the 民情工作日志 of a day (stored, or built now if the nightly job has not run)."""
    from gis.patrol import worklog
    from maps.worklog_page import worklog_page

    if html and compound is None and worker is None:
        raise typer.BadParameter("--html prints one log: give --compound CODE or --worker ID")

    d = _day(day) or date.today()  # --date is required; never empty here
    with cli_session() as session:
        logs = worklog.build_logs(session, d)
        keys = sorted(logs)
        if compound is not None:
            keys = [("compound", compound)]
        elif worker is not None:
            keys = [("worker", str(worker))]
        for key in keys:
            entry = logs.get(key) or worklog.empty_log(d, *key)
            if html:
                typer.echo(worklog_page(worklog.log_view(session, entry)))
            elif md:
                typer.echo(worklog.to_markdown(session, entry))
            else:
                typer.echo(json.dumps(entry, ensure_ascii=False, default=str))


@patrols_app.command("nightly")
def nightly_cmd(day: Annotated[str | None, typer.Option("--date", help="default: yesterday")] = None) -> None:
    """Run the nightly patrol job now (close unended patrols, store site minutes and logs)."""
    from gis.patrol.tasks import nightly_patrols

    with cli_session() as session:
        typer.echo(json.dumps(nightly_patrols(session, _day(day)), ensure_ascii=False, default=str))


@patrols_app.command("partitions")
def partitions_cmd(
    ensure: Annotated[bool, typer.Option("--ensure", help="create the current and next periods' partitions")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="drop the partitions wholly past the retention")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="with --prune: only say what would be dropped")] = False,
) -> None:
    """patrol_fixes' partitions (period, lead and retention: data/config/patrol.yaml `storage`): list them, or
    create the ones ahead, or drop the ones past the retention (the derived site minutes and logs stay)."""
    from gis.models import utcnow
    from gis.patrol import access, partitions
    from gis.patrol.config import load_config

    if dry_run and not prune:
        raise typer.BadParameter("--dry-run goes with --prune")
    storage = load_config().storage
    today = access.local_day(utcnow())
    with cli_session() as session:
        out: dict[str, object] = {"period": storage.period, "ahead": storage.ahead,
                                  "retention_months": storage.retention_months}  # fmt: skip
        if ensure:
            out["created"] = partitions.ensure(session, today, storage)
        if prune:
            out["would_drop" if dry_run else "dropped"] = partitions.prune(session, today, storage, dry_run=dry_run)
        out["partitions"] = [p.public() for p in partitions.list_partitions(session)]
        typer.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))


def register(app: typer.Typer) -> None:
    app.add_typer(patrols_app, name="patrols")
