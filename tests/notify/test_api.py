"""The inbox and the delivery log over HTTP, and a misconfigured channel stopping the start."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.notify.config import NotifyConfigError
from gis.notify.emit import Event, emit
from gis.notify.models import OutboxMessage
from gis.notify.receiver import Receiver
from gis.settings import Settings
from tests.notify.conftest import deliver
from tests.tickets.conftest import Area, ok, report


def test_inbox_counts_unread_and_marks_read(client: TestClient, area: Area, channels: object) -> None:
    police = area.departments["police"].id
    _, unit = area.make_user("department", organization_id=police)
    _, other = area.make_user("department", organization_id=police)
    for _ in range(2):
        t = report(client, area.resident)["id"]
        ok(client, area.dispatcher, t, "accept")
        ok(client, area.dispatcher, t, "dispatch", payload={"unit_id": police})
    page = client.get("/v1/me/notifications", headers=unit).json()
    assert page["unread"] == 2 and [i["event"] for i in page["items"]] == ["dispatched", "dispatched"]
    assert "地址" in page["items"][0]["body"] and "/maps/tickets/" in page["items"][0]["link"]
    first = page["items"][0]["id"]
    other_first = client.get("/v1/me/notifications", headers=other).json()["items"][0]["id"]
    r = client.post("/v1/me/notifications/read", json={"ids": [other_first]}, headers=unit)
    assert r.status_code == 404  # another user's message
    r = client.post("/v1/me/notifications/read", json={"ids": [first]}, headers=unit)
    assert r.json() == {"marked": 1, "unread": 1}
    assert client.get("/v1/me/notifications?unread=true", headers=unit).json()["numberMatched"] == 1
    assert client.post("/v1/me/notifications/read", json={"all": True}, headers=unit).json()["unread"] == 0
    assert client.get("/v1/me/notifications/unread", headers=other).json() == {"unread": 2}


def test_preferences_refuse_what_cannot_work(client: TestClient, area: Area) -> None:
    bad = client.put("/v1/me/notification-preferences", json={"muted": ["pigeon"]}, headers=area.dispatcher)
    assert bad.status_code == 422 and "pigeon" in bad.json()["message"]
    half = client.put("/v1/me/notification-preferences", json={"quiet_start": "22:00"}, headers=area.dispatcher)
    assert half.status_code == 422
    good = {"muted": ["sms", "overdue:inbox"], "quiet_start": "21:00:00", "quiet_end": "08:00:00", "email": "a@b.cn"}
    assert client.put("/v1/me/notification-preferences", json=good, headers=area.dispatcher).status_code == 200
    got = client.get("/v1/me/notification-preferences", headers=area.dispatcher).json()
    assert got["muted"] == ["overdue:inbox", "sms"] and got["quiet_end"] == "08:00:00"


def test_admin_sees_failures_with_the_answer_and_resends(
    client: TestClient, session: Session, sessions: sessionmaker[Session], area: Area, channels: object,
    receiver: Receiver,
) -> None:  # fmt: skip
    session.execute(update(OutboxMessage).where(OutboxMessage.status == "queued").values(status="cancelled"))
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    emit(session, Event("escalated", "api-test", {"ticket_id": 7}, place_code="990000000001001"), now=now)
    session.commit()
    receiver.state.fail("feishu", "500", "500", "500")
    for k in range(3):
        deliver(sessions, now + timedelta(minutes=10 * k))
    failed = client.get("/v1/notifications/deliveries?status=failed", headers=area.admin).json()
    assert failed["numberMatched"] == 1
    [row] = failed["items"]
    assert row["channel"] == "feishu" and row["last_status_code"] == 500 and row["last_error"] == "HTTP 500"
    assert row["to"] == "env:T_FEISHU_URL"  # the robot's key never shows
    detail = client.get(f"/v1/notifications/deliveries/{row['id']}", headers=area.admin).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500]
    assert (
        client.get("/v1/notifications/deliveries?channel=wecom&status=delivered", headers=area.admin).json()[
            "numberMatched"
        ]
        == 1
    )
    assert client.get("/v1/notifications/deliveries?channel=pigeon", headers=area.admin).status_code == 422
    assert client.get("/v1/notifications/deliveries", headers=area.dispatcher).status_code == 403
    r = client.post(f"/v1/notifications/deliveries/{row['id']}/resend", headers=area.admin)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    assert deliver(sessions).delivered == 1 and len(receiver.state.of("feishu")) == 1
    again = client.post(f"/v1/notifications/deliveries/{row['id']}/resend", headers=area.admin)
    assert again.status_code == 409 and "never sent twice" in again.json()["message"]
    assert session.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == row["id"])) == 1


def test_the_page_is_a_shell(client: TestClient) -> None:
    r = client.get("/maps/notifications")
    assert r.status_code == 200 and "我的通知" in r.text and "gg.notifyPage(" in r.text


def _config_dir(tmp_path: Path, notify_yaml: str) -> Path:
    for name in ("ticket_categories.yaml", "ticket_sla.yaml"):
        with resources.as_file(resources.files("data").joinpath("config", name)) as src:
            shutil.copy(src, tmp_path / name)
    (tmp_path / "notify.yaml").write_text(notify_yaml, encoding="utf-8")
    return tmp_path


def test_a_misconfigured_channel_stops_the_start_with_a_clear_message(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GG_SMS_SECRET", raising=False)
    yaml_text = """
streets:
  "370102010":
    sms: {provider: aliyun, endpoint: "http://127.0.0.1:9/sms/", access_key_id_env: GG_SMS_ID,
          access_key_secret_env: GG_SMS_SECRET, templates: {}}
rules:
  - {event: received, to: reporter, channels: [sms]}
templates:
  received: {title: t, body: b}
"""
    monkeypatch.setenv("GG_SMS_ID", "id")
    bad = settings.model_copy(update={"config_dir": _config_dir(tmp_path, yaml_text)})
    with pytest.raises(NotifyConfigError) as err:
        create_app(bad)
    text = str(err.value)
    assert "GG_SMS_SECRET is not set" in text and "no template code for event(s) ['received']" in text
    assert "GG_SMS_ID" not in text  # a variable that is set is not mentioned, its value never
    typo = settings.model_copy(
        update={"config_dir": _config_dir(tmp_path, "rules:\n  - {event: dispatchd, to: unit, channels: [inbox]}\n")}
    )
    with pytest.raises(NotifyConfigError, match="unknown event 'dispatchd'"):
        create_app(typo)
