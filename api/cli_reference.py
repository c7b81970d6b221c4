"""Reference data from the command line: `gridgov reference template|export|import` (the sheets of
gis.sheets) and `gridgov init --street`, which brings up a new 街道 in an empty database — boundaries from
files through a plan, then the sheets in order — prompting for what is missing unless `--no-input`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_common import cli_errors, cli_session
from gis.sheets import ORDER

reference_app = typer.Typer(help="reference data sheets (网格员名单, 小区信息, 服务资源台账 …)", no_args_is_help=True)

SheetArg = Annotated[str, typer.Argument(help=", ".join(ORDER))]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="xlsx or csv")]


def _fmt(path: Path, fmt: str | None) -> str:
    return fmt or ("csv" if path.suffix.lower() == ".csv" else "xlsx")


@reference_app.command("template")
def template_cmd(sheet: SheetArg, output: Annotated[Path, typer.Option("--output", "-o")], fmt: FormatOpt = "") -> None:
    """Write an empty sheet with Chinese headers (and the 说明 sheet in .xlsx)."""
    from gis.sheets import engine

    with cli_errors():
        data = engine.template(engine.get_sheet(sheet), _fmt(output, fmt or None))
    output.write_bytes(data)
    typer.echo(f"{output} ({len(data):,} bytes)")


@reference_app.command("export")
def export_cmd(sheet: SheetArg, output: Annotated[Path, typer.Option("--output", "-o")], fmt: FormatOpt = "") -> None:
    """Write what the database holds, in the template's layout (edit it and import it again)."""
    from gis.sheets import engine

    with cli_session() as session:
        data = engine.export(session, None, sheet, _fmt(output, fmt or None))
    output.write_bytes(data)
    typer.echo(f"{output} ({len(data):,} bytes)")


def _print_report(report: dict[str, Any]) -> None:
    typer.echo(
        f"{report['title']}: {report['rows']} 行 rows — 新建 created {len(report['created'])}, 修改 updated "
        f"{len(report['updated'])}, 不变 unchanged {report['unchanged']}, 错误 errors {len(report['errors'])}"
    )
    for u in report["updated"][:20]:
        typer.echo(f"  第 {u['row']} 行 {u['key']}: " + json.dumps(u["changes"], ensure_ascii=False))
    for e in report["errors"][:100]:
        typer.secho(f"  第 {e['row']} 行 [{e['column']}] {e['message']}", fg=typer.colors.RED, err=True)
    for p in report["placed"]:
        typer.echo(
            f"  第 {p['row']} 行 {p['name']}: 没有坐标，放在{p['placed_on']}的中心 / placed on it; 请在地图上核对"
        )
    for u in report["unplaced"]:
        typer.secho(f"  第 {u['row']} 行 {u['name']}（{u['address'] or '无地址'}）需要在地图上选点", err=True)


def import_sheet(sheet: str, path: Path, *, dry_run: bool = False) -> dict[str, Any]:
    """Preview or commit one file; exits 1 (nothing written) when a row has an error."""
    from gis.sheets import engine

    with cli_session() as session:
        report = engine.preview(session, None, sheet, path.read_bytes(), path.name)
        if report["ok"] and not dry_run:
            report = engine.commit(session, None, sheet, path.read_bytes(), path.name)
    _print_report(report)
    if not report["ok"]:
        typer.secho(f"{path}: 有错误，未写入任何数据 / errors: nothing written", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    return report


@reference_app.command("import")
def import_cmd(
    sheet: SheetArg,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv (UTF-8 or GBK)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="preview only: what would change, and every error")
    ] = False,
) -> None:
    """Import a filled sheet: every row, or none when a row has an error (listed by row and column)."""
    import_sheet(sheet, path, dry_run=dry_run)


def _ask(value: Any, prompt: str, interactive: bool, *, required: bool = True) -> Any:
    if value is not None or not interactive:
        if value is None and required:
            raise typer.BadParameter(f"missing: {prompt} (give its option, or run without --no-input)")
        return value
    answer = typer.prompt(prompt, default="" if not required else None, show_default=False)
    return answer or None


def _path(value: Any) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}")
    return path


def _sheet_file(folder: Path | None, sheet: str) -> Path | None:
    if folder is None:
        return None
    return next((p for ext in (".xlsx", ".csv") if (p := folder / f"{sheet}{ext}").is_file()), None)


def init_cmd(
    street: Annotated[bool, typer.Option("--street", help="bring up a new 街道 (the only kind of init)")] = False,
    code: Annotated[str | None, typer.Option(help="9-digit 街道 code (区划代码 + 3 digits)")] = None,
    name: Annotated[str | None, typer.Option(help="街道 name, e.g. 新华街道")] = None,
    communities: Annotated[str | None, typer.Option(help="communities (社区) boundary file")] = None,
    cells: Annotated[str | None, typer.Option(help="grid cells (网格) boundary file")] = None,
    compounds: Annotated[str | None, typer.Option(help="compounds (小区) boundary file (optional)")] = None,
    street_file: Annotated[str | None, typer.Option(help="the 街道 boundary (default: union of communities)")] = None,
    crs: Annotated[str | None, typer.Option(help="EPSG:4490, EPSG:4527, gcj02 … when the files carry none")] = None,
    sheets: Annotated[
        str | None, typer.Option(help="folder of filled sheets: organizations.xlsx|csv, users, staff, compounds …")
    ] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="never prompt (scripts, tests)")] = False,
) -> None:
    """A new 街道 from nothing: migrate the database, the 街道 and its communities, cells and compounds from
    boundary files (through a plan: versioned like every later redraw), then the sheets in order
    (organizations, users, staff, compounds, contacts, buildings, resources). Safe to run again."""
    from gis.db import ensure_database
    from gis.migrate import upgrade
    from gis.settings import get_settings
    from gis.sheets.street import create_street, import_boundaries, street_boundary

    if not street:
        raise typer.BadParameter("use gridgov init --street (a new 街道)")
    interactive = not no_input
    code = _ask(code, "街道编码（9 位）/ 9-digit code of the 街道", interactive)
    name = _ask(name, "街道名称 / name of the 街道", interactive)
    community_file = _path(_ask(communities, "社区边界文件 / communities boundary file", interactive))
    cell_file = _path(_ask(cells, "网格边界文件 / cells boundary file", interactive))
    compound_file = _path(_ask(compounds, "小区边界文件（可空）/ compounds boundary file (blank: none)", interactive,
                               required=False))  # fmt: skip
    folder = _ask(
        sheets, "已填好的表格所在文件夹（可空）/ folder of filled sheets (blank: none)", interactive, required=False
    )
    sheet_dir = Path(folder).expanduser() if folder else None
    if community_file is None or cell_file is None:
        raise typer.BadParameter("communities and cells boundary files are both needed")

    typer.echo("1/3 数据库 / database …")
    settings = get_settings()
    if not settings.database.url:  # the project-local cluster: create the database when it is missing
        ensure_database(settings.sqlalchemy_url)
    upgrade(settings.sqlalchemy_url, "heads")
    typer.echo("2/3 边界 / boundaries …")
    with cli_session() as session:
        upload = (community_file.read_bytes(), community_file.name)
        own = _path(street_file)
        geom = street_boundary(upload, (own.read_bytes(), own.name) if own else None, crs)
        create_street(session, code=code, name=name, geom=geom)
        result = import_boundaries(
            session,
            communities=upload,
            cells=(cell_file.read_bytes(), cell_file.name),
            compounds=(compound_file.read_bytes(), compound_file.name) if compound_file else None,
            crs=crs,
        )
    counts = ", ".join(
        f"{layer} +{c['added']} ~{c['changed']} -{c['removed']}" for layer, c in result["counts"].items()
    )
    typer.echo(f"   {name} {code}: {counts}{'' if result['committed'] else ' (no change)'}")
    typer.echo("3/3 表格 / sheets …")
    missing = []
    for sheet in ORDER:
        path = _sheet_file(sheet_dir, sheet)
        if path is None:
            missing.append(sheet)
            continue
        import_sheet(sheet, path)
    _next_steps(code, missing)


def _next_steps(code: str, missing: list[str]) -> None:
    from sqlalchemy import text

    with cli_session() as session:
        where = session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid_cells "
                "WHERE valid_to IS NULL AND code LIKE :c || '%' ORDER BY code LIMIT 1) x"
            ),
            {"c": code},
        ).first()
    typer.echo("\n完成 / done. 接下来 / next:")
    if missing:
        typer.echo(f"  - 还没有导入的表 / sheets not imported yet: {', '.join(missing)}")
        typer.echo(
            "    gridgov reference template <sheet> -o <sheet>.xlsx, fill it, gridgov reference import <sheet> <file>"
        )
    typer.echo("  - gridgov serve  (then open http://127.0.0.1:8000/docs and /maps/operations)")
    if where is not None:
        typer.echo(f"  - 试一试 / try: http://127.0.0.1:8000/v1/locate?lon={where[0]:.6f}&lat={where[1]:.6f}")
    typer.echo(f"  - 社区地图 / a community's map: http://127.0.0.1:8000/maps/communities/{code}001")
    typer.echo(
        "  - 边界调整 / redraw boundaries: gridgov plans create …, gridgov plans import …, gridgov plans commit …"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(reference_app, name="reference")
    app.command("init")(init_cmd)
