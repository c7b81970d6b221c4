"""Boundary plan commands for the `gridgov` CLI: `gridgov plans …` (create, import with a progress bar,
validate, diff, export, commit, history).

A planner at a desk with a 40 MB GeoPackage from the surveying bureau uses these instead of the browser:
the import shows its stages and progress, validation exits 1 when errors would block the commit, and
every failure prints the same message the API would answer. Domain imports happen inside the commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_common import cli_session

plans_app = typer.Typer(help="boundary plans (网格规划): import, validate, diff, export, commit", no_args_is_help=True)

LayerOpt = Annotated[str, typer.Option("--layer", help="cell (网格), compound (小区) or community (社区)")]
PlanArg = Annotated[int, typer.Argument(min=1, help="plan id (gridgov plans list)")]


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _short(report: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Long code lists as 'n: first codes …' for a terminal."""
    out = dict(report)
    for key in keys:
        codes = out[key]
        out[key] = f"{len(codes)}: {' '.join(codes[:12])}{' …' if len(codes) > 12 else ''}"
    return out


def _user_id(session: Any, username: str | None) -> int | None:
    if username is None:
        return None
    from sqlalchemy import select

    from gis.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.role not in ("planner", "admin"):
        raise typer.BadParameter(f"{username!r} is not a planner or admin", param_hint="--as")
    return int(user.id)


@plans_app.command("list")
def list_cmd(status: Annotated[str | None, typer.Option(help="draft, committed or abandoned")] = None) -> None:
    """Plans, newest first."""
    from gis.plans.catalog import list_plans

    with cli_session() as session:
        for p in list_plans(session, status=status):
            counts = " ".join(f"{k}={v}" for k, v in p["counts"].items())
            typer.echo(f"{p['id']:>5}  {p['status']:<9}  {p['name']}  [{', '.join(p['communities'])}]  {counts}")


@plans_app.command("create")
def create_cmd(
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    username: Annotated[str | None, typer.Option("--as", help="planner recorded as the author")] = None,
) -> None:
    """Start a draft plan; prints its id."""
    from gis.plans.catalog import create_plan

    with cli_session() as session:
        plan = create_plan(session, name=name, description=description, user_id=_user_id(session, username))
        typer.echo(plan.id)


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A rich progress bar fed by the import's (stage, done, total) reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    )
    bar.start()
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return report, bar.stop


def _silent(_stage: str, _done: int, _total: int) -> None:
    return None


def _nothing() -> None:
    return None


@plans_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".geojson .gpkg .zip(.shp) .csv .xlsx")],
    plan_id: Annotated[int | None, typer.Option("--plan", min=1, help="draft plan to import into")] = None,
    new: Annotated[str | None, typer.Option("--new", help="or: start a new plan with this name")] = None,
    layer: LayerOpt = "cell",
    crs: Annotated[str | None, typer.Option(help="EPSG:4490, EPSG:4527, gcj02 … when the file has none")] = None,
    mode: Annotated[str, typer.Option(help="replace (the file is the whole layer) or merge")] = "replace",
    mapping: Annotated[str | None, typer.Option(help='JSON, e.g. {"code": "WGBM", "households": "HS"}')] = None,
    username: Annotated[str | None, typer.Option("--as", help="planner recorded as the author of --new")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Import a file into a draft plan (never into live tables), showing progress; prints the report."""
    from gis.plans.catalog import create_plan
    from gis.plans.imports_sync import import_file
    from gis.plans.read import Limits
    from gis.settings import get_settings

    if (plan_id is None) == (new is None):
        raise typer.BadParameter("give either --plan ID or --new NAME")
    try:
        fields = json.loads(mapping) if mapping else None
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--mapping") from exc
    settings = get_settings()
    limits = Limits(
        max_bytes=settings.limits.max_import_bytes,
        max_features=settings.limits.max_import_features,
        max_vertices=settings.limits.max_geometry_vertices,
    )
    report_progress, stop = (_silent, _nothing) if quiet else _progress_bar()
    try:
        with cli_session() as session:
            if new is not None:
                plan_id = create_plan(session, name=new, user_id=_user_id(session, username)).id
            assert plan_id is not None
            report = import_file(
                session,
                plan_id,
                path.read_bytes(),
                path.name,
                layer=layer,
                crs=crs,
                mode=mode,
                mapping=fields,
                limits=limits,
                progress=report_progress,
            )
    finally:
        stop()
    _echo(_short(report, "added", "changed", "unchanged", "removed"))


@plans_app.command("validate")
def validate_cmd(
    plan_id: PlanArg,
    households_min: Annotated[int | None, typer.Option(help="households band, lower bound")] = 200,
    households_max: Annotated[int | None, typer.Option(help="households band, upper bound")] = 300,
    sliver_m2: Annotated[float, typer.Option(help="gaps/overlaps under this are slivers")] = 10.0,
    geojson: Annotated[Path | None, typer.Option(help="also write the problems as GeoJSON here")] = None,
) -> None:
    """List the draft's problems; exit 1 when an error would block the commit."""
    from gis.plans.draft import get_plan
    from gis.plans.validate import Rules, validate_plan

    rules = Rules(sliver_m2=sliver_m2, households_min=households_min, households_max=households_max)
    with cli_session() as session:
        result = validate_plan(session, get_plan(session, plan_id), rules)
    for f in result["features"]:
        p = f["properties"]
        typer.secho(
            f"{'错误' if p['severity'] == 'error' else '提示'} {p['kind']}: {p['message']}",
            fg=typer.colors.RED if p["severity"] == "error" else typer.colors.YELLOW,
        )
    s = result["summary"]
    verdict = "ok" if s["ok"] else "NOT ok"
    typer.echo(f"{s['errors']} error(s), {s['warnings']} warning(s), {s['cells']} cells: {verdict}")
    if geojson is not None:
        geojson.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    if not s["ok"]:
        raise typer.Exit(1)


@plans_app.command("diff")
def diff_cmd(plan_id: PlanArg) -> None:
    """Per cell: added / removed / reshaped, area change, and what a commit would move."""
    from gis.plans.diff import plan_diff
    from gis.plans.draft import get_plan

    with cli_session() as session:
        diff = plan_diff(session, get_plan(session, plan_id))
    for r in diff["cells"]:
        typer.echo(
            f"{r['code']}  {r['change_label']:<4}  {r['area_m2_change']:>+12.1f} m²  "
            f"households {r['households_before']} → {r['households_after']}"
        )
    _echo(diff["totals"])


@plans_app.command("export")
def export_cmd(
    plan_id: PlanArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write")],
    layer: LayerOpt = "cell",
    fmt: Annotated[str, typer.Option("--format", "-f", help="geojson, gpkg, shp (zip), csv, xlsx")] = "gpkg",
    scope: Annotated[str, typer.Option(help="draft (everything) or plan (only the changes)")] = "draft",
) -> None:
    """Write the draft (or only its changes) of one layer to a file."""
    from gis.plans.draft import get_plan
    from gis.plans.export import export_plan

    with cli_session() as session:
        data = export_plan(session, get_plan(session, plan_id), fmt, scope=scope, layer=layer)
    output.write_bytes(data)
    typer.echo(f"{output} ({len(data):,} bytes)")


@plans_app.command("commit")
def commit_cmd(
    plan_id: PlanArg,
    message: Annotated[str, typer.Option("--message", "-m", help="why the boundaries change")],
    username: Annotated[str, typer.Option("--as", help="committing planner (recorded in the history)")] = "planner",
    households_min: Annotated[int | None, typer.Option()] = 200,
    households_max: Annotated[int | None, typer.Option()] = 300,
) -> None:
    """Make the plan live in one transaction and re-anchor what moved; prints the report."""
    from gis.plans.commit import commit_plan
    from gis.plans.validate import Rules

    rules = Rules(households_min=households_min, households_max=households_max)
    with cli_session() as session:
        report = commit_plan(session, plan_id, message=message, user_id=_user_id(session, username), rules=rules)
    moved = {table: m["count"] for table, m in report["moved"].items()}
    _echo(_short({k: v for k, v in report.items() if k != "moved"}, "added", "changed", "removed") | {"moved": moved})


@plans_app.command("history")
def history_cmd(community: Annotated[str | None, typer.Option(help="12-digit community code")] = None) -> None:
    """Commits, newest first."""
    from gis.plans.commit import history

    with cli_session() as session:
        for h in history(session, community_code=community):
            typer.echo(f"{h['committed_at']:%Y-%m-%d %H:%M}  plan {h['plan_id']}  {h['message']}  {h['communities']}")


def register(app: typer.Typer) -> None:
    app.add_typer(plans_app, name="plans")
