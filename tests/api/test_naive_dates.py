"""One policy for a date/time without a timezone, everywhere in the API: it is Asia/Shanghai local time
(北京时间), in query parameters and in JSON bodies alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.models import User

SHANGHAI = ZoneInfo("Asia/Shanghai")
# the tiny area's cells come into force at midnight, Beijing time (16:00 UTC the day before)
IN_FORCE = datetime(2024, 6, 1, 0, 0, tzinfo=SHANGHAI)
# 20:00 on the eve: still before midnight in Beijing, but after 16:00 if read as UTC
NAIVE_EVE = "2024-05-31T20:00:00"


def _from_midnight(session: Session, tiny_area: dict[str, Any]) -> tuple[float, float]:
    for cell in tiny_area["cells"]:
        cell.valid_from = IN_FORCE
    session.commit()
    ox, oy = tiny_area["origin"]
    return ox + 0.005, oy + 0.005


def test_locate_and_cells_read_a_naive_at_the_same_way(
    client: TestClient,
    session: Session,
    tiny_area: dict[str, Any],
    make_user: Callable[..., tuple[User, dict[str, str]]],
) -> None:
    lon, lat = _from_midnight(session, tiny_area)
    _, staff = make_user("admin")
    code = tiny_area["cells"][0].code

    def cells(at: str) -> int:
        r = client.get("/v1/cells", params={"code": code, "at": at}, headers=staff)
        assert r.status_code == 200, r.text
        matched: int = r.json()["numberMatched"]
        return matched

    located = client.get("/v1/locate", params={"lon": lon, "lat": lat, "at": NAIVE_EVE})
    assert located.status_code == 404, "at 20:00 Beijing time the cell was not yet in force"
    assert cells(NAIVE_EVE + "+08:00") == 0
    assert cells(NAIVE_EVE) == 0, "a naive ?at= is Beijing time, as /v1/locate reads it"
    assert cells("2024-06-01T08:00:00") == 1


def _report(client: TestClient, tiny_area: dict[str, Any], staff: dict[str, str], opened_at: str) -> int:
    """A staff report in the tiny area's left cell (a community category: no department needed)."""
    ox, oy = tiny_area["origin"]
    body = {"category": "dispute", "description": "邻里纠纷", "lon": ox + 0.008, "lat": oy + 0.008}
    r = client.post("/v1/tickets", json={**body, "opened_at": opened_at}, headers=staff)
    assert r.status_code == 201, r.text
    ticket_id: int = r.json()["id"]
    return ticket_id


def test_a_naive_opened_at_in_a_ticket_is_beijing_time(
    client: TestClient, tiny_area: dict[str, Any], make_user: Callable[..., tuple[User, dict[str, str]]]
) -> None:
    _, staff = make_user("admin")
    ticket_id = _report(client, tiny_area, staff, "2026-03-02T09:30:00")
    detail = client.get(f"/v1/tickets/{ticket_id}", headers=staff).json()
    assert datetime.fromisoformat(detail["opened_at"]) == datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI)


def test_a_naive_list_filter_is_beijing_time(
    client: TestClient, tiny_area: dict[str, Any], make_user: Callable[..., tuple[User, dict[str, str]]]
) -> None:
    _, staff = make_user("admin")
    ticket_id = _report(client, tiny_area, staff, "2026-03-02T09:30:00+08:00")  # 01:30 UTC
    params = {"cell": tiny_area["cells"][0].code}
    after = client.get("/v1/tickets", params={**params, "opened_from": "2026-03-02T09:00:00"}, headers=staff)
    before = client.get("/v1/tickets", params={**params, "opened_to": "2026-03-02T09:00:00"}, headers=staff)
    assert [t["id"] for t in after.json()["items"]] == [ticket_id]
    assert before.json()["items"] == []
