"""Photos (sniffed type, limits, EXIF GPS read then stripped, thumbnails) and the 12345 import."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from PIL import Image

from gis.settings import Settings
from tests.tickets.conftest import IN_COMPOUND, LEFT_CELL, OUTSIDE, Area


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    from tests.conftest import test_database_url

    settings = Settings.for_tests(test_database_url(), max_body_bytes=20_000_000)
    return settings.model_copy(update={"media_dir": tmp_path / "media"})


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    d = int(value)
    m = int((value - d) * 60)
    s = Fraction(round(((value - d) * 60 - m) * 60 * 1000), 1000)
    return Fraction(d), Fraction(m), s


def geotagged_jpeg(lon: float, lat: float) -> bytes:
    img = Image.new("RGB", (640, 480), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # camera make: must not survive
    exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_photo_gps_places_the_ticket_and_exif_is_stripped(client: TestClient, area: Area, settings: Settings) -> None:
    data = geotagged_jpeg(*IN_COMPOUND)
    r = client.post("/v1/attachments", files={"file": ("p.jpg", data, "image/jpeg")}, headers=area.resident)
    assert r.status_code == 201, r.text
    photo = r.json()
    assert abs(photo["exif_lon"] - IN_COMPOUND[0]) < 1e-5 and abs(photo["exif_lat"] - IN_COMPOUND[1]) < 1e-5
    body = {"category": "garbage", "description": "垃圾堆放", "photo_ids": [photo["id"]]}
    t = client.post("/v1/tickets", json=body, headers=area.resident).json()
    assert t["compound_code"] == area.compound  # placed from the photo's GPS
    detail = client.get(f"/v1/tickets/{t['id']}", headers=area.resident).json()
    assert detail["photos"][0]["id"] == photo["id"]
    stored = client.get(photo["url"], headers=area.resident)
    assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(stored.content)).getexif()  # no GPS, no camera
    thumb = Image.open(io.BytesIO(client.get(photo["thumb_url"], headers=area.resident).content))
    assert max(thumb.size) <= 320
    assert (settings.media_dir / photo["sha256"][:2] / f"{photo['sha256']}.jpg").exists()
    assert client.get(photo["url"], headers=area.other_resident).status_code == 404


def test_non_images_and_oversize_uploads_are_refused(client: TestClient, area: Area) -> None:
    r = client.post(
        "/v1/attachments", files={"file": ("x.jpg", b"%PDF-1.4 not an image", "image/jpeg")}, headers=area.resident
    )
    assert r.status_code == 422 and r.json()["error"] == "unsupported_media_type"
    big = Image.effect_noise((2000, 2000), 100).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")
    assert len(buf.getvalue()) > 4_000_000
    r = client.post("/v1/attachments", files={"file": ("big.png", buf.getvalue(), "image/png")}, headers=area.resident)
    assert r.status_code == 422 and r.json()["error"] == "payload_too_large"
    r = client.post(
        "/v1/attachments", files={"file": ("t.jpg", b"\xff\xd8\xff\xe0garbage", "image/jpeg")}, headers=area.resident
    )
    assert r.status_code == 422


CSV = (
    "工单编号,诉求类别,诉求内容,地址,经度,纬度,坐标系,来电人,联系电话,受理时间\n"
    f"H001,噪音扰民,夜间施工噪音,,{LEFT_CELL[0]},{LEFT_CELL[1]},wgs84,张先生,13800000000,2025-01-27 09:00\n"
    "H002,电梯故障,电梯停运,测试花园3号楼,,,,李女士,13900000000,2025-01-27 10:00\n"
    f"H003,噪音扰民,远处,,{OUTSIDE[0]},{OUTSIDE[1]},wgs84,,,2025-01-27 11:00\n"
    "H004,外星人,???,,100.008,30.008,wgs84,,,\n"
    "H005,噪音扰民,坐标有误,,abc,30.0,wgs84,,,\n"
    "H006,噪音扰民,无地址无坐标,,,,,,,\n"
)


def test_hotline_csv_import_reports_bad_rows(client: TestClient, area: Area) -> None:
    files = {"file": ("12345.csv", CSV.encode("gb18030"), "text/csv")}
    out = client.post("/v1/tickets/import", files=files, headers=area.dispatcher).json()
    assert out["rows"] == 6 and out["created"] == 2 and out["failed"] == 4
    assert {e["row"]: e["error"] for e in out["errors"]} == {
        4: "outside_service_area",
        5: "invalid_input",
        6: "invalid_input",
        7: "invalid_input",
    }
    t = client.get(f"/v1/tickets/{out['ticket_ids'][1]}", headers=area.dispatcher).json()
    assert t["channel"] == "hotline_12345" and t["compound_code"] == area.compound
    assert t["opened_at"].startswith("2025-01-27T02:00")  # 10:00 Beijing time
    again = client.post("/v1/tickets/import", files=files, headers=area.dispatcher).json()
    assert again["created"] == 0 and again["skipped"] == 2


def test_hotline_excel_import_and_permissions(client: TestClient, area: Area) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["工单编号", "诉求类别", "诉求内容", "经度", "纬度"])
    ws.append(["X1", "垃圾清运", "垃圾未清运", LEFT_CELL[0], LEFT_CELL[1]])
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("12345.xlsx", buf.getvalue(), "application/octet-stream")}
    assert client.post("/v1/tickets/import", files=files, headers=area.worker).status_code == 403
    out = client.post("/v1/tickets/import", files=files, headers=area.dispatcher).json()
    assert out["created"] == 1 and out["errors"] == []
    bad = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
    r = client.post("/v1/tickets/import", files=bad, headers=area.dispatcher)
    assert r.status_code == 422 and "诉求类别" in r.json()["message"]


def test_a_photo_whose_file_is_gone_is_404_not_500(client: TestClient, area: Area, settings: Settings) -> None:
    """M10 #11: a database row outliving its file answers 404 with a message, not a RuntimeError."""
    r = client.post(
        "/v1/attachments",
        files={"file": ("p.jpg", geotagged_jpeg(100.008, 30.008), "image/jpeg")},
        headers=area.resident,
    )
    photo = r.json()
    for f in settings.media_dir.rglob(f"{photo['sha256']}.*"):
        f.unlink()
    for path in (f"/v1/attachments/{photo['id']}", f"/v1/attachments/{photo['id']}/thumb"):
        gone = client.get(path, headers=area.resident)
        assert gone.status_code == 404 and "gone" in gone.json()["message"]


def test_a_hotline_csv_with_a_giant_field_is_a_clear_422(client: TestClient, area: Area) -> None:
    """M10 #10: a field over the csv module's 128 KiB limit is refused with a message, not a csv.Error 500."""
    data = (
        "工单编号,诉求类别,诉求内容,经度,纬度\nH1,噪音,短,100.008,30.008\nH2,噪音,"
        + "长" * 140_000
        + ",100.008,30.008\n"
    ).encode()
    r = client.post("/v1/tickets/import", files={"file": ("h.csv", data, "text/csv")}, headers=area.dispatcher)
    assert r.status_code == 422 and "128 KB" in r.json()["message"]
