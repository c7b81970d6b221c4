"""GET /v1/locate answers from one SQL statement whose JSON PostgreSQL makes (gis.locate_json): the same answer
as `gis.locate.locate` gives through the ORM, for points all over the demo 街道 and at per_type 1 and 3."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from api.schemas.locate import LocationPublic
from gis.errors import OutsideServiceArea
from gis.locate import locate
from gis.models import GridCell
from gis.resources import SHANGHAI, is_open, open_now_params, open_now_sql


def _orm_answer(session: Session, lon: float, lat: float, per_type: int) -> dict[str, object] | None:
    try:
        loc = locate(session, lon, lat, resources_per_type=per_type)
    except OutsideServiceArea:
        return None
    return LocationPublic.model_validate({**vars(loc), "source_crs": "wgs84"}).model_dump(mode="json")


@pytest.mark.parametrize("per_type", [1, 3])
def test_locate_answers_as_the_orm_path_does(client: TestClient, session: Session, per_type: int) -> None:
    box = session.execute(select(func.ST_Extent(GridCell.geom))).scalar_one()
    x1, y1, x2, y2 = (float(v) for v in box.removeprefix("BOX(").removesuffix(")").replace(",", " ").split())
    rng = random.Random(per_type)
    found = 0
    for _ in range(25):
        lon, lat = x1 + rng.random() * (x2 - x1), y1 + rng.random() * (y2 - y1)
        r = client.get("/v1/locate", params={"lon": lon, "lat": lat, "per_type": per_type})
        expected = _orm_answer(session, lon, lat, per_type)
        if expected is None:
            assert r.status_code == 404, r.text
            assert r.json()["error"] == "outside_service_area"
            continue
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert LocationPublic.model_validate_json(r.content).model_dump(mode="json") == expected
        found += 1
    assert found >= 10, "most of the demo's bounding box is covered by cells"


@pytest.mark.parametrize(
    "hours",
    [
        [],
        [{"days": [0, 1, 2, 3, 4], "open": "08:30", "close": "17:30"}],
        [{"days": [5, 6], "open": "22:00", "close": "02:00"}],  # past midnight
        [{"days": [0, 1, 2, 3, 4, 5, 6], "open": "00:00", "close": "24:00"}],
        [{"days": [2], "open": "09:00", "close": "12:00"}, {"days": [2], "open": "14:00", "close": "18:00"}],
        [{"days": [3]}],  # no times: all day
    ],
)
def test_open_now_in_sql_agrees_with_is_open(session: Session, hours: list[dict[str, object]]) -> None:
    stmt = text(f"SELECT {open_now_sql('CAST(:hours AS jsonb)')}").bindparams(bindparam("hours", type_=JSONB))
    for day in range(7, 14):  # 2026-12-07 is a Monday
        for hhmm in ("00:00", "01:59", "02:00", "08:29", "08:30", "12:00", "13:00", "17:29", "17:30", "21:59", "23:59"):
            at = datetime(2026, 12, day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=SHANGHAI)
            got = session.execute(stmt, {"hours": hours, **open_now_params(at)}).scalar()
            assert got == is_open(hours, at), (hours, at)
