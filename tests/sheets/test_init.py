"""`gridgov init --street` from an empty database: boundaries from files, then the sheets, non-interactively;
at the end /v1/locate answers with the new cell, its staff and a nearby resource — and running it again
changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from gis.settings import Settings

DATA = Path(__file__).parents[1] / "data" / "onboarding"


@pytest.fixture()
def empty_database(fresh_database: Callable[[str], str]) -> str:
    """A database of its own, dropped and created empty (PostGIS only): init has to migrate it itself."""
    return fresh_database("onboard")


def _init(*extra: str) -> list[str]:
    return [
        "init", "--street", "--no-input", "--code", "370105001", "--name", "新华街道",
        "--communities", str(DATA / "communities.geojson"), "--cells", str(DATA / "cells.geojson"),
        "--compounds", str(DATA / "compounds.geojson"), "--sheets", str(DATA), *extra,
    ]  # fmt: skip


def test_init_street_from_an_empty_database(empty_database: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, _init())
    assert result.exit_code == 0, result.output
    assert "community +2" in result.output and "cell +4" in result.output and "compound +2" in result.output
    assert "/v1/locate?lon=" in result.output

    engine = create_engine(empty_database)
    settings = Settings.for_tests(empty_database)
    api = create_app(settings)
    api.state.sessions = sessionmaker(bind=engine)
    with TestClient(api) as client:
        # inside 幸福家园, in 新华社区第一网格: its 网格长 and 网格员, the compound's board, the canteen placed on it
        where = client.get("/v1/locate", params={"lon": 118.0015, "lat": 37.0015}).json()
        assert where["subdistrict"]["name"] == "新华街道" and where["community"]["name"] == "新华社区"
        assert where["cell"]["code"] == "370105001001001" and where["cell"]["manager"]["name"] == "吴社区"
        assert [w["name"] for w in where["cell"]["workers"]] == ["郑网格"]
        assert where["compound"]["name"] == "幸福家园" and where["compound"]["property_company"]["code"] == "WY-XF"
        assert {c["duty"] for c in where["compound"]["contacts"]} == {
            "secretary", "liaison_worker", "property_steward", "police"
        }  # fmt: skip
        canteen = next(r for r in where["resources"] if r["type"] == "community_canteen")
        assert canteen["name"] == "幸福家园社区食堂" and canteen["distance_m"] < 200
        token = client.post("/v1/auth/token", data={"username": "xh-admin", "password": "onboard-admin-1"})
        assert token.status_code == 200, token.text  # the administrator from the users sheet logs in
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        street = client.get("/v1/audit/reference-changes", params={"table": "subdistrict"}, headers=admin).json()
        assert [(c["object_key"], c["username"], c["after"]) for c in street["items"]] == [
            ("370105001", "gridgov", {"name": "新华街道"})
        ]
        assert (
            client.post(f"/v1/audit/reference-changes/{street['items'][0]['id']}/revert", headers=admin).status_code
            == 409
        )

    def counts() -> tuple[int, ...]:
        with Session(engine) as s:
            return tuple(
                s.execute(
                    text(
                        "SELECT (SELECT count(*) FROM grid_cells), (SELECT count(*) FROM users), "
                        "(SELECT count(*) FROM service_resources), (SELECT count(*) FROM compound_versions), "
                        "(SELECT count(*) FROM admin_area_versions), (SELECT count(*) FROM reference_changes)"
                    )
                ).one()
            )

    first = counts()
    assert first[:3] == (4, 5, 3)
    with Session(engine) as s:  # every write of init is on the reference audit trail, by the command line
        trail = set(s.execute(text("SELECT table_name, username, action FROM reference_changes")).tuples())
        hours = s.scalar(text("SELECT osm_hours FROM service_resources WHERE code = 'XH-ST-01'"))
    assert {t for t, _, _ in trail} >= {"subdistrict", "organizations", "users", "cell_staff", "service_resources"}
    assert {u for _, u, _ in trail} == {"gridgov"} and ("users", "gridgov", "create") in trail
    assert hours == "Mo-Su 06:30-19:00"  # 每天 06:30-19:00 in the sheet, stored in OpenStreetMap syntax
    again = runner.invoke(app, _init())  # idempotent: nothing new, not even a version
    assert again.exit_code == 0, again.output
    assert "(no change)" in again.output and "新建 created 0" in again.output
    assert counts() == first
    engine.dispose()


def test_init_asks_for_what_is_missing(empty_database: str) -> None:
    """Without --no-input, an administrator is asked for the code, name and files; a blank sheet folder skips
    the sheets and the closing note says which are still to fill in."""
    answers = "\n".join(
        ["370105001", "新华街道", str(DATA / "communities.geojson"), str(DATA / "cells.geojson"), "", ""]
    )
    result = CliRunner().invoke(app, ["init", "--street"], input=answers + "\n")
    assert result.exit_code == 0, result.output
    assert "街道编码" in result.output and "社区边界文件" in result.output  # the prompts
    assert "cell +4" in result.output and "organizations, users, staff" in result.output
