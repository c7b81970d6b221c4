"""The security review's ticket findings (reviews M1, M2, M3, M5, M7, L12, L14, L18), each as a user would
notice it: public callers cannot set staff-only fields, photos are claimed only by their uploader, residents
never read other people's names, abandoned uploads are swept, foreign ticket ids are simply unknown, a
manager's import stays in their jurisdiction, and retried writes create nothing twice."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.settings import Settings
from gis.tickets import photos, tasks
from gis.tickets.models import Attachment
from gis.tickets.open311 import create_key
from tests.tickets.conftest import LEFT_CELL, RIGHT_CELL, Area, act, ok, report
from tests.tickets.test_photos_import import geotagged_jpeg

ANON = {"reporter_name": "王五", "reporter_phone": "13900000009"}


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    from tests.conftest import test_database_url

    settings = Settings.for_tests(test_database_url(), max_body_bytes=20_000_000)
    return settings.model_copy(update={"media_dir": tmp_path / "media"})


def _post(client: TestClient, headers: dict[str, str] | None = None, **body: object) -> Response:
    payload = {"category": "noise", "description": "噪音", "lon": LEFT_CELL[0], "lat": LEFT_CELL[1], **body}
    return client.post("/v1/tickets", json=payload, headers=headers or {})


def _upload(client: TestClient, data: bytes, headers: dict[str, str] | None = None, **extra: str) -> dict[str, Any]:
    files = {"file": ("p.jpg", data, "image/jpeg")}
    r = client.post("/v1/attachments", files=files, headers={**(headers or {}), **extra})
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


# --- M1: public intake ----------------------------------------------------------------------------------


def test_public_callers_cannot_use_the_open311_channel_or_staff_fields(client: TestClient, area: Area) -> None:
    r = _post(client, channel="open311")  # no reporter, no api_key
    assert r.status_code == 403, r.text
    r = _post(client, **ANON, opened_at="2000-01-01T00:00:00+08:00")  # backdated: overdue on arrival
    assert r.status_code == 403
    r = _post(client, area.resident, external_id="X")
    assert r.status_code == 403
    now = utcnow().isoformat()  # "now" is what a public report's opened_at can only say
    assert _post(client, **ANON, opened_at=now).status_code == 201


def test_opened_at_out_of_range_is_422_and_a_taken_external_id_is_409(client: TestClient, area: Area) -> None:
    r = _post(client, area.dispatcher, channel="staff", opened_at="9999-12-31T23:59:00+00:00")
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    r = _post(client, area.dispatcher, channel="staff", opened_at="1990-01-01T00:00:00+08:00")
    assert r.status_code == 422
    assert _post(client, area.dispatcher, channel="staff", external_id="X").status_code == 201
    r = _post(client, area.dispatcher, channel="staff", external_id="X")
    assert r.status_code == 409 and r.json()["detail"]["external_id"] == "X"


# --- M2: photo_ids IDOR ---------------------------------------------------------------------------------


def test_someone_elses_photo_can_neither_be_attached_nor_locate_a_report(client: TestClient, area: Area) -> None:
    photo = _upload(client, geotagged_jpeg(*RIGHT_CELL))  # anonymous: the normal resident flow
    body = {"category": "noise", "description": "x", "photo_ids": [photo["id"]]}
    r = client.post("/v1/tickets", json=body, headers=area.resident)
    assert r.status_code == 403, r.text
    assert client.get(f"/v1/attachments/{photo['id']}", headers=area.resident).status_code == 404
    stolen = {**body, "photo_ids": [], "photo_tokens": [f"{photo['id']}.{'0' * 64}"]}
    assert client.post("/v1/tickets", json={**stolen, **ANON}).status_code == 403
    anon_ids = {**body, **ANON}  # anonymous callers cannot name photos by id at all
    assert client.post("/v1/tickets", json=anon_ids).status_code == 403


def test_the_anonymous_uploader_attaches_their_photo_by_its_token(client: TestClient, area: Area) -> None:
    photo = _upload(client, geotagged_jpeg(*RIGHT_CELL))
    body = {"category": "noise", "description": "x", "photo_tokens": [photo["upload_token"]], **ANON}
    r = client.post("/v1/tickets", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["cell_code"] == area.right  # placed from the photo's GPS
    detail = client.get(f"/v1/tickets/{r.json()['id']}", headers=area.admin).json()
    assert [p["id"] for p in detail["photos"]] == [photo["id"]]
    again = client.post("/v1/tickets", json=body)  # a photo is on one ticket only
    assert again.status_code == 422 and "another ticket" in again.json()["message"]


# --- M3: names in history, /duplicates ------------------------------------------------------------------


def test_residents_see_neither_other_residents_names_nor_staff_logins(client: TestClient, area: Area) -> None:
    t1 = report(client, area.resident)["id"]
    other, other_headers = area.make_user("resident", phone="13800000077")
    t2 = report(client, other_headers, reporter_name="李四")["id"]
    ok(client, other_headers, t2, "merge", payload={"into": t1})
    ok(client, area.dispatcher, t1, "accept")
    history = client.get(f"/v1/tickets/{t1}/history", headers=area.resident).json()
    assert any(e["action"] == "merged_in" for e in history)
    text = repr(history)
    assert "李四" not in text and other.username not in text and "t-manager" not in text
    staff_view = client.get(f"/v1/tickets/{t1}/history", headers=area.dispatcher).json()
    assert any(other.username in e["actor"] for e in staff_view)  # staff still see who acted


def test_duplicates_lists_only_tickets_the_reader_may_see(client: TestClient, area: Area) -> None:
    mine = report(client, area.resident)["id"]
    _, third = area.make_user("resident", phone="13800000078")
    near = (LEFT_CELL[0] + 0.0001, LEFT_CELL[1])  # about 10 m away
    theirs = report(client, third, at=near, description="第三人的噪音投诉")["id"]
    assert client.get(f"/v1/tickets/{mine}/duplicates", headers=area.resident).json() == []
    staff = client.get(f"/v1/tickets/{mine}/duplicates", headers=area.dispatcher).json()
    assert [d["id"] for d in staff] == [theirs]


# --- M5: pixel budget, abandoned uploads ----------------------------------------------------------------


def test_a_decompression_bomb_png_is_refused(client: TestClient, area: Area) -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (6400, 6250), (10, 20, 30, 255)).save(buf, "PNG")
    assert len(buf.getvalue()) < 1_000_000  # small on the wire, 160 MB decoded
    r = client.post("/v1/attachments", files={"file": ("b.png", buf.getvalue(), "image/png")})
    assert r.status_code == 422 and r.json()["error"] == "payload_too_large", r.text


def test_uploads_never_attached_are_swept_after_a_day(
    client: TestClient, area: Area, session: Session, settings: Settings
) -> None:
    old = [_upload(client, _jpeg(i)) for i in range(3)]
    fresh = _upload(client, _jpeg(3))
    used = _upload(client, _jpeg(4), area.resident)
    report(client, area.resident, photo_ids=[used["id"]])
    shared = _upload(client, _jpeg(3))  # the same bytes as `fresh`: one file, two rows
    aged_shared = shared["id"]
    aged = [p["id"] for p in old] + [used["id"], aged_shared]
    session.execute(update(Attachment).where(Attachment.id.in_(aged)).values(created_at=utcnow() - timedelta(hours=48)))
    session.commit()
    files = {p["id"]: settings.media_dir / str(p["sha256"])[:2] for p in (*old, fresh, used)}
    assert all(any(d.glob(f"{p['sha256']}.*")) for p, d in zip((*old, fresh, used), files.values(), strict=True))
    swept = tasks.sweep_uploads(session, media_dir=settings.media_dir)
    assert sorted(swept) == sorted([p["id"] for p in old] + [aged_shared])
    left = set(session.scalars(select(Attachment.id).where(Attachment.id.in_(list(files)))))
    assert left == {fresh["id"], used["id"]}
    for p in old:
        assert not list(settings.media_dir.rglob(f"{p['sha256']}.*"))
    for p in (fresh, used):
        assert list(settings.media_dir.rglob(f"{p['sha256']}.*"))


def _jpeg(shade: int) -> bytes:
    """A distinct small JPEG per shade (content addressing stores equal pixels once)."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (40 * shade, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def test_an_upload_that_rolls_back_leaves_no_file(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as s:
        att = photos.store_photo(s, tmp_path, geotagged_jpeg(100.002, 30.002))
        stored = photos.path_for(tmp_path, att)
        assert stored.exists()
        s.rollback()
    assert not stored.exists() and not list(tmp_path.rglob("*.jpg"))


# --- M7 / L12: foreign ticket ids -----------------------------------------------------------------------


def test_a_manager_cannot_merge_into_a_ticket_outside_their_jurisdiction(client: TestClient, area: Area) -> None:
    _, manager = area.make_user("manager", jurisdiction=[area.left])
    a = report(client, manager, channel="staff")["id"]
    b = report(client, area.admin, at=RIGHT_CELL, channel="staff", category="garbage")["id"]
    r = act(client, manager, a, "merge", payload={"into": b})
    assert r.status_code == 404, r.text
    assert "state" not in repr(r.json()["detail"])
    history = client.get(f"/v1/tickets/{b}/history", headers=area.admin).json()
    assert not any(e["action"] == "merged_in" for e in history)


def test_a_foreign_ticket_in_a_batch_is_not_found_whatever_its_state(client: TestClient, area: Area) -> None:
    foreign = report(client, area.admin, channel="staff")["id"]
    items = [{"client_key": "k1", "kind": "action", "ticket_id": foreign, "action": "close"}]
    out = client.post("/v1/tickets/batch", json={"items": items}, headers=area.resident).json()
    assert out["results"][0]["error"]["error"] == "not_found"
    assert "state" not in repr(out["results"][0]["error"])
    missing = {"stars": 5, "token": "x" * 22, "phone": "13800000001"}  # rating: no ticket == not yours
    r_missing = client.post("/v1/tickets/999999999/rating", json=missing)
    r_foreign = client.post(f"/v1/tickets/{foreign}/rating", json=missing)
    assert r_missing.status_code == r_foreign.status_code == 403


# --- L14: hotline import jurisdiction -------------------------------------------------------------------


def test_a_manager_imports_only_rows_in_their_jurisdiction(client: TestClient, area: Area) -> None:
    _, manager = area.make_user("manager", jurisdiction=[area.left])
    csv = (
        "工单编号,诉求类别,诉求内容,经度,纬度\n"
        f"J1,噪音扰民,左边,{LEFT_CELL[0]},{LEFT_CELL[1]}\n"
        f"J2,噪音扰民,右边,{RIGHT_CELL[0]},{RIGHT_CELL[1]}\n"
    )
    out = client.post("/v1/tickets/import", files={"file": ("h.csv", csv.encode(), "text/csv")}, headers=manager).json()
    assert out["created"] == 1 and [(e["row"], e["error"]) for e in out["errors"]] == [(3, "forbidden")]


# --- L18: retried writes --------------------------------------------------------------------------------


def test_retried_open311_posts_uploads_and_hotline_rows_create_nothing_twice(
    client: TestClient, area: Area, session: Session
) -> None:
    key = create_key(session, "retry-app")
    session.commit()
    form = {"api_key": key, "service_code": "noise", "lat": LEFT_CELL[1], "long": LEFT_CELL[0], "device_id": "d1"}
    retry = {"Idempotency-Key": "req-1"}
    first = client.post("/open311/v2/requests.json", data=form, headers=retry)
    second = client.post("/open311/v2/requests.json", data=form, headers=retry)
    assert first.status_code == 201, first.text
    assert second.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    data = geotagged_jpeg(100.003, 30.003)
    up1 = _upload(client, data, **{"Idempotency-Key": "up-1"})
    up2 = _upload(client, data, **{"Idempotency-Key": "up-1"})
    assert up1["id"] == up2["id"]
    csv = f"诉求类别,诉求内容,经度,纬度,受理时间\n噪音扰民,无编号,{LEFT_CELL[0]},{LEFT_CELL[1]},2026-11-01 09:00\n"
    files = {"file": ("h.csv", csv.encode(), "text/csv")}
    once = client.post("/v1/tickets/import", files=files, headers=area.dispatcher).json()
    twice = client.post("/v1/tickets/import", files=files, headers=area.dispatcher).json()
    assert once["created"] == 1 and twice["created"] == 0 and twice["skipped"] == 1
