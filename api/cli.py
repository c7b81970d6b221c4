"""`gridgov` command line: db upgrade, demo load, serve, user add, stats."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import cli_session
from gis.settings import get_settings

app = typer.Typer(help="gridgov: 网格化管理 on PostGIS", no_args_is_help=True)
db_app = typer.Typer(help="database schema")
demo_app = typer.Typer(help="demo data")
user_app = typer.Typer(help="users")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")

from api.cli_tickets import register as _register_tickets  # noqa: E402  (worker, tickets …)

_register_tickets(app)

from api.cli_plans import register as _register_plans  # noqa: E402  (plans import/validate/commit …)

_register_plans(app)

from api.cli_patrols import register as _register_patrols  # noqa: E402  (patrols log/nightly)

_register_patrols(app)

from api.cli_reference import register as _register_reference  # noqa: E402  (reference sheets, init --street)

_register_reference(app)
from api.cli_reports import register as _register_reports  # noqa: E402  (report monthly/quarterly/kpis)

_register_reports(app)

from api.cli_maps import register as _register_maps  # noqa: E402  (map export …)
from api.cli_notify import register as _register_notify  # noqa: E402  (notify check/deliver/receiver/robot)

_register_maps(app)
_register_notify(app)

log = logging.getLogger("gridgov")


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply Alembic migrations."""
    from gis.migrate import upgrade

    upgrade(get_settings().sqlalchemy_url, revision)
    typer.echo(f"database at {revision}")


@demo_app.command("load")
def demo_load(
    scale: Annotated[int, typer.Option(min=1, max=1000, help="1 = one 街道 (~320 cells); N = N times as big")] = 1,
    seed: int = 42,
    replace: Annotated[bool, typer.Option(help="delete the demo data and load it again")] = False,
    external: Annotated[
        bool, typer.Option("--external-database", help="allow loading into the database DATABASE_URL names")
    ] = False,
) -> None:
    """Load the demo 街道 (idempotent: a second run changes nothing unless --replace).

    Only into the project-local cluster, or with --external-database, and only into an empty database: the
    demo's accounts share one published password."""
    from data.demo_load import load_demo

    if get_settings().database.url and not external:
        typer.echo(
            "error: DATABASE_URL points at a database outside the project-local cluster; the demo (accounts "
            "with a shared, published password) is only loaded there with --external-database",
            err=True,
        )
        raise typer.Exit(2)
    t0 = time.perf_counter()
    with cli_session() as session:
        counts = load_demo(session, scale=scale, seed=seed, replace=replace)
    typer.echo(f"demo data ({time.perf_counter() - t0:.1f} s): " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, planner, manager, grid_worker, department, resident")],
    full_name: Annotated[str, typer.Option("--name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    jurisdiction: Annotated[str, typer.Option(help="comma-separated community/cell codes")] = "",
    phone: str | None = None,
) -> None:
    """Create a user."""
    from gis.auth import create_user

    with cli_session() as session:
        user = create_user(
            session,
            username=username,
            password=password,
            full_name=full_name,
            role=role,
            phone=phone,
            jurisdiction=[c for c in jurisdiction.split(",") if c],
        )
        typer.echo(f"created user {user.username} (id {user.id}, role {user.role})")


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable an account; its tokens stop working at once."""
    from gis import auth

    with cli_session() as session:
        auth.set_active(session, auth.get_user(session, username), active=False)
    typer.echo(f"disabled {username}")


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Re-enable a disabled account."""
    from gis import auth

    with cli_session() as session:
        auth.set_active(session, auth.get_user(session, username), active=True)
    typer.echo(f"enabled {username}")


@user_app.command("password")
def user_password(
    username: str,
    password: Annotated[str, typer.Option(prompt="new password", hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a new password for an account (its tokens stop working)."""
    from gis import auth

    with cli_session() as session:
        auth.set_password(session, auth.get_user(session, username), password)
    typer.echo(f"password of {username} changed; its sessions have ended")


@user_app.command("list")
def user_list() -> None:
    """Accounts: username, role, active, jurisdiction."""
    from gis import auth
    from gis.db import session_scope

    with session_scope() as session:
        for u in auth.list_users(session):
            state = "active" if u.is_active else "disabled"
            typer.echo(f"{u.username}\t{u.role}\t{state}\t{','.join(u.jurisdiction or [])}")


@app.command()
def stats() -> None:
    """Counts of what is loaded, and database versions."""
    from gis.db import session_scope
    from gis.meta import database_versions, table_counts

    with session_scope() as session:
        typer.echo(json.dumps({**database_versions(session), **table_counts(session)}, ensure_ascii=False, indent=2))


def _useful_urls(host: str, port: int) -> list[str]:
    from gis.db import session_scope
    from gis.meta import sample_compound_point

    base = f"http://{host}:{port}"
    urls = [f"{base}/docs  (API docs)", f"{base}/health"]
    try:
        with session_scope() as session:
            row = sample_compound_point(session)
        if row:
            code, lon, lat = row
            urls.append(f"{base}/v1/locate?lon={lon:.6f}&lat={lat:.6f}  (who is responsible here)")
            urls.append(f"{base}/maps/compounds/{code}  (小区服务资源地图)")
            urls.append(f"{base}/maps/communities/{code[:12]}  (社区服务资源地图)")
            urls.append(f"{base}/maps/operations  (operations map; log in as admin / gridgov-demo)")
            urls.append(f"{base}/v1/resources?near={lon:.6f},{lat:.6f},800  (resources within 800 m)")
    except Exception as exc:  # the server still starts; the list is a convenience
        log.warning("could not list demo URLs: %s", exc)
    return urls


def _first_start() -> bool:
    """Before serving: a database without users gets its first admin (asked for here); returns whether
    this is the demo database (whose shared logins may then be printed)."""
    from data.demo_load import is_demo_database
    from gis.auth import create_user
    from gis.models import User

    with cli_session() as session:
        if session.query(User.id).first() is None:
            password = os.environ.get("GRIDGOV_ADMIN_PASSWORD")
            if not password:
                if not sys.stdin.isatty():
                    typer.echo(
                        "error: no users yet: set GRIDGOV_ADMIN_PASSWORD (or run `gridgov serve` in a terminal, "
                        "or `gridgov user add admin --role admin`) to create the first admin",
                        err=True,
                    )
                    raise typer.Exit(2)
                typer.echo("首次启动：尚无用户 / first start: no users yet. Create the administrator 'admin'.")
                password = typer.prompt("admin password", hide_input=True, confirmation_prompt=True)
            create_user(session, username="admin", password=password, full_name="管理员", role="admin")
            typer.echo("created user admin (role admin)")
        return is_demo_database(session)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    with_worker: Annotated[bool, typer.Option(help="also run the periodic-task worker")] = False,
) -> None:
    """Serve the API and maps with uvicorn."""
    import uvicorn

    demo = _first_start()
    typer.echo("gridgov is starting. Useful URLs:")
    for url in _useful_urls(host, port):
        typer.echo(f"  {url}")
    if demo:
        typer.echo("demo logins: admin / planner / mgr001 … password 'gridgov-demo'")
    pids = get_settings().run_dir
    pids.mkdir(parents=True, exist_ok=True)
    (pids / "serve.pid").write_text(f"{os.getpid()}\n")
    worker = _Supervised([sys.executable, "-m", "api.cli", "worker"], pids / "worker.pid") if with_worker else None
    try:
        uvicorn.run("api.app:app_factory", factory=True, host=host, port=port, workers=workers, log_level="info")
    finally:
        if worker is not None:
            worker.stop()
        (pids / "serve.pid").unlink(missing_ok=True)


class _Supervised:
    """A child process (the periodic-task worker) restarted when it dies, its PID kept in a file so that
    `make stop` ends exactly it and nothing else."""

    def __init__(self, argv: list[str], pid_file: Path) -> None:
        import threading

        self.argv, self.pid_file = argv, pid_file
        self._stopping = threading.Event()
        self.proc = self._start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.argv)
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc

    def _watch(self) -> None:
        while not self._stopping.wait(5):
            code = self.proc.poll()
            if code is not None and not self._stopping.is_set():
                log.warning("worker exited with status %s: restarting it", code)
                self.proc = self._start()

    def stop(self) -> None:
        self._stopping.set()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    app()
