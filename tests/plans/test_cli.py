"""`gridgov plans …` against the real test database: create, import with progress, validate (exit 1 on
errors), diff, export, and clear errors (exit 2) for bad files. The CLI commits its own transactions, so
the test removes its plan afterwards; it never commits a plan (live cells stay as the other tests expect)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from gis.plans.write import write_layer
from gis.settings import get_settings
from tests.conftest import test_database_url as database_url
from tests.plans.conftest import COMMUNITY, live_cells


@pytest.fixture()
def cli_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM boundary_plans WHERE name LIKE 'cli-test%'"))


def test_plans_cli_import_validate_export(cli_env: CliRunner, engine: Engine, tmp_path: Path) -> None:
    runner = cli_env
    created = runner.invoke(app, ["plans", "create", "cli-test 边界调整", "--as", "planner"])
    assert created.exit_code == 0, created.output
    plan_id = created.output.strip().splitlines()[-1]

    from sqlalchemy.orm import Session

    with Session(engine) as s:
        cells = live_cells(s, COMMUNITY)
    first = sorted(cells.geoms)[0]
    rows = [{"code": c, "geom": g} for c, g in sorted(cells.geoms.items())]
    rows[0]["geom"] = shapely.buffer(rows[0]["geom"], -0.0001)  # leaves a gap
    path = tmp_path / "redrawn.geojson"
    path.write_bytes(write_layer(rows, "geojson"))

    imported = runner.invoke(app, ["plans", "import", str(path), "--plan", plan_id])
    assert imported.exit_code == 0, imported.output
    assert "writing" in imported.output and f"/{len(rows)}" in imported.output  # the progress bar
    assert f'"changed": "1: {first}"' in imported.output

    checked = runner.invoke(app, ["plans", "validate", plan_id, "--households-min", "0", "--households-max", "99999"])
    assert checked.exit_code == 1 and "gap" in checked.output and "NOT ok" in checked.output

    diff = runner.invoke(app, ["plans", "diff", plan_id])
    assert diff.exit_code == 0 and first in diff.output and "边界调整" in diff.output

    out = tmp_path / "changes.xlsx"
    exported = runner.invoke(app, ["plans", "export", plan_id, "-o", str(out), "-f", "xlsx", "--scope", "plan"])
    assert exported.exit_code == 0, exported.output
    assert list(pd.read_excel(io.BytesIO(out.read_bytes()), dtype=str)["code"]) == [first]

    listed = runner.invoke(app, ["plans", "list", "--status", "draft"])
    assert "cli-test 边界调整" in listed.output

    bad = tmp_path / "bad.geojson"
    bad.write_text("{}")
    failed = runner.invoke(app, ["plans", "import", str(bad), "--plan", plan_id, "-q"])
    assert failed.exit_code == 2 and "cannot read" in failed.output
    both = runner.invoke(app, ["plans", "import", str(path), "--plan", plan_id, "--new", "cli-test x"])
    assert both.exit_code != 0 and "either --plan" in both.output
