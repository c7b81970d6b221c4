"""`gridgov reference template|export|import` on the demo database: a template with the 说明 sheet, an export
that imports back as unchanged, and a bad sheet that exits 1 listing row and column (nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.cli import app
from gis.settings import get_settings
from tests.conftest import test_database_url as database_url


@pytest.fixture()
def runner(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_reference_cli_round_trip_and_errors(runner: CliRunner, tmp_path: Path) -> None:
    template = tmp_path / "resources-template.xlsx"
    made = runner.invoke(app, ["reference", "template", "resources", "-o", str(template)])
    assert made.exit_code == 0, made.output
    assert openpyxl.load_workbook(template).sheetnames == ["服务资源台账", "说明"]

    exported = tmp_path / "staff.csv"
    assert runner.invoke(app, ["reference", "export", "staff", "-o", str(exported)]).exit_code == 0
    rows = len(exported.read_text(encoding="utf-8-sig").splitlines()) - 1
    again = runner.invoke(app, ["reference", "import", "staff", str(exported)])
    assert again.exit_code == 0, again.output
    assert f"不变 unchanged {rows}" in again.output and "修改 updated 0" in again.output

    bad = tmp_path / "orgs.csv"
    bad.write_text("单位编码,单位名称,单位类型,电话\nCLI-1,测试单位,居委会,12\n", encoding="gbk")
    failed = runner.invoke(app, ["reference", "import", "organizations", str(bad), "--dry-run"])
    assert failed.exit_code == 1
    assert "第 2 行 [单位类型]" in failed.output and "第 2 行 [电话]" in failed.output
