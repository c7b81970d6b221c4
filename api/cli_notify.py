"""Notification commands for the `gridgov` CLI: `gridgov notify check | deliver | receiver | robot`.
Domain imports happen inside the commands."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import cli_errors, cli_session

notify_app = typer.Typer(help="notifications: check the channels, deliver now, a local receiver", no_args_is_help=True)


@notify_app.command("check")
def check_cmd() -> None:
    """Check notify.yaml and the secrets it names (what the app and the worker do at start-up)."""
    from gis.notify.config import NotifyConfigError, startup_check

    try:
        cfg = startup_check()
    except NotifyConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: {len(cfg.rules)} rules, 街道 {', '.join(cfg.streets) or '(none)'}")


@notify_app.command("deliver")
def deliver_cmd() -> None:
    """Deliver every due message now (without the worker) and print what happened."""
    from gis.db import session_factory
    from gis.notify.config import startup_check
    from gis.notify.deliver import deliver_due

    with cli_errors():
        startup_check()
        stats = deliver_due(session_factory())
    typer.echo(json.dumps(stats.__dict__, ensure_ascii=False))


@notify_app.command("robot")
def robot_cmd(
    compound: Annotated[str, typer.Option(help="compound code")],
    url: Annotated[str, typer.Option(help="the group robot's webhook URL ('' removes it)")],
    kind: Annotated[str, typer.Option(help="wecom, dingtalk or feishu")] = "wecom",
) -> None:
    """Set a compound's group robot (its nightly 民情工作日志 goes there)."""
    from sqlalchemy import select

    from gis.errors import InvalidInput, NotFound
    from gis.models import Compound
    from gis.notify.config import ROBOTS

    with cli_session() as session:
        if kind not in ROBOTS:
            raise InvalidInput(f"kind must be one of {', '.join(ROBOTS)}")
        if url and not url.startswith(("http://", "https://")):
            raise InvalidInput("the robot URL must start with http:// or https://")
        c = session.scalar(select(Compound).where(Compound.code == compound))
        if c is None:
            raise NotFound(f"没有小区 {compound} / no compound {compound}")
        c.group_robot_url, c.group_robot_kind = (url or None), (kind if url else None)
    typer.echo(f"{compound}: {kind if url else 'no'} robot")


@notify_app.command("receiver")
def receiver_cmd(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8025,
    log: Annotated[str, typer.Option(help="where received messages are written, one JSON line each ('-': nowhere)")] = (
        "var/notify/receiver.log"
    ),
    wecom_key: Annotated[str, typer.Option(help="the WeCom robot key it accepts")] = "demo",
) -> None:
    """A local stand-in for WeCom/DingTalk/Feishu robots, Aliyun SMS and webhooks (for trying the channels out)."""
    from gis.notify.receiver import Receiver, ReceiverState

    state = ReceiverState(wecom_keys={wecom_key}, log_path=None if log == "-" else Path(log))
    r = Receiver(state, port=port, bench=log == "-")  # without a log, count only (benches)
    typer.echo(f"receiver on {r.url}: WeCom robot {r.url}/cgi-bin/webhook/send?key={wecom_key}; writing {log}")
    with contextlib.suppress(KeyboardInterrupt):
        r.serve_forever()


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
