"""Evaluation commands for the `gridgov` CLI: `gridgov report monthly --street S --month 2026-11 [--out DIR]`,
`gridgov report quarterly --street S --quarter 2026-Q4`, `gridgov report kpis --unit U --code C --from --to`.
Domain imports happen inside the commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import cli_session

report_app = typer.Typer(help="evaluation (考核): 通报, KPIs", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", help="directory for the .html, .docx and .xlsx")]


def _write(street: str, kind: str, when: str, out: Path) -> None:
    from gis.evaluation import report
    from maps.report_page import report_page

    with cli_session() as session:
        row = report.write_report(session, street, kind, report.period_for(kind, when))
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"tongbao-{kind}-{street}-{when}"
        stem.with_suffix(".html").write_text(report_page(row.data), encoding="utf-8")
        stem.with_suffix(".docx").write_bytes(row.docx)
        stem.with_suffix(".xlsx").write_bytes(row.xlsx)
        f = row.data["figures"]
        typer.echo(
            f"{row.data['title']} {row.data['period']['label']}: 受理 {f['received']}，解决率 {f['solve_rate']}，"
            f"12345 同比 {f['hotline_change']} → {stem}.html/.docx/.xlsx (stored)"
        )


@report_app.command("monthly")
def monthly_cmd(
    street: Annotated[str, typer.Option(help="街道 code, e.g. 370102010")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    out: OutOption = Path("var/reports"),
) -> None:
    """Write (and store) a 街道's monthly 物业工单定期通报 as HTML, Word and Excel."""
    _write(street, "monthly", month, out)


@report_app.command("quarterly")
def quarterly_cmd(
    street: Annotated[str, typer.Option(help="街道 code")],
    quarter: Annotated[str, typer.Option(help="YYYY-Qn, e.g. 2026-Q4")],
    out: OutOption = Path("var/reports"),
) -> None:
    """Write (and store) a 街道's quarterly 通报."""
    _write(street, "quarterly", quarter, out)


@report_app.command("kpis")
def kpis_cmd(
    unit: Annotated[str, typer.Option(help="cell, compound, community, street, department, property, worker")],
    code: Annotated[str, typer.Option(help="the unit's code")],
    first: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    last: Annotated[str, typer.Option("--to", help="YYYY-MM-DD (included)")],
) -> None:
    """Print a unit's KPIs for a period as JSON."""
    from gis.evaluation import kpis
    from gis.evaluation.units import Period, resolve_unit

    try:
        period = Period.parse(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from exc
    with cli_session() as session:
        fig = kpis.compute(session, period, unit=resolve_unit(session, unit, code), user=None)[0]
        typer.echo(json.dumps(fig, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
