"""Each channel against its stand-in on 127.0.0.1: the platform's request format and signature are checked by
the receiver, and its error answers come back as a not-acknowledged Answer carrying the channel's words."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from gis.notify.channels import Answer, Outgoing, send
from gis.notify.config import NotifyConfig
from gis.notify.receiver import Receiver
from tests.notify.conftest import Mailbox


def _msg(channel: str, address: str | None = None, event: str = "dispatched") -> Outgoing:
    return Outgoing(
        id=1, key=f"{event}:t1:u1:{channel}", event=event, channel=channel, address=address,
        title="新派工单 #1：噪音", body="**新派工单 #1**\n- 地址：测试小区3号楼", link="http://gg.local/maps/tickets/1",
        data={"ticket_id": 1, "address": "测试小区3号楼"},
    )  # fmt: skip


def _send(cfg: NotifyConfig, msg: Outgoing, tmp_path: Path) -> Answer:
    with httpx.Client(timeout=cfg.retry.timeout_seconds, trust_env=False) as client:
        return send(client, msg, cfg.streets["*"], log_path=tmp_path / "outbox.log", timeout=1)


def test_wecom_markdown_reaches_the_group_and_a_wrong_key_is_refused(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path
) -> None:
    a = _send(channels, _msg("wecom", "env:T_WECOM_URL"), tmp_path)
    assert a.ok and json.loads(a.answer or "")["errcode"] == 0
    [got] = receiver.state.of("wecom")
    assert got["text"].startswith("### 新派工单 #1") and "测试小区3号楼" in got["text"]
    bad = _send(channels, _msg("wecom", f"{receiver.url}/cgi-bin/webhook/send?key=wrong"), tmp_path)
    assert not bad.ok and "93000" in (bad.answer or "") and bad.error == "errcode=93000"


def test_dingtalk_is_signed_and_a_wrong_secret_is_refused(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _send(channels, _msg("dingtalk", "env:T_DING_URL"), tmp_path).ok
    [got] = receiver.state.of("dingtalk")
    assert got["title"] == "新派工单 #1：噪音"
    monkeypatch.setenv("T_DING_SECRET", "not-the-robot-secret")
    bad = _send(channels, _msg("dingtalk", "env:T_DING_URL"), tmp_path)
    assert not bad.ok and "sign not match" in (bad.answer or "")
    assert len(receiver.state.of("dingtalk")) == 1


def test_feishu_post_is_signed_and_a_wrong_secret_is_refused(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _send(channels, _msg("feishu", "env:T_FEISHU_URL"), tmp_path).ok
    [got] = receiver.state.of("feishu")
    assert got["title"] == "新派工单 #1：噪音" and "查看详情" in got["text"]
    monkeypatch.setenv("T_FEISHU_SECRET", "wrong")
    bad = _send(channels, _msg("feishu", "env:T_FEISHU_URL"), tmp_path)
    assert not bad.ok and "19021" in (bad.answer or "")


def test_aliyun_sms_sends_template_sign_and_params_and_a_bad_signature_is_refused(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _send(channels, _msg("sms", "13800000002"), tmp_path)
    assert a.ok and json.loads(a.answer or "")["Code"] == "OK"
    [got] = receiver.state.of("sms")
    assert got["PhoneNumbers"] == "13800000002" and got["SignName"] == "测试街道"
    assert got["TemplateCode"] == channels.streets["*"].sms.templates["dispatched"]  # type: ignore[union-attr]
    assert json.loads(got["TemplateParam"])["address"] == "测试小区3号楼"
    assert got["OutId"] == "dispatched:t1:u1:sms"  # our idempotency key travels with the message
    monkeypatch.setenv("T_SMS_SECRET", "wrong")
    bad = _send(channels, _msg("sms", "13800000002"), tmp_path)
    assert not bad.ok and bad.status_code == 400 and "SignatureDoesNotMatch" in (bad.answer or "")


def test_webhook_is_signed_with_the_idempotency_key(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _send(channels, _msg("webhook"), tmp_path).ok
    [got] = receiver.state.of("webhook")
    assert got["idempotency_key"] == "dispatched:t1:u1:webhook" and got["event"] == "dispatched"
    monkeypatch.setenv("T_HOOK_SECRET", "wrong")
    bad = _send(channels, _msg("webhook"), tmp_path)
    assert not bad.ok and bad.status_code == 401


def test_email_arrives_at_the_smtp_server(channels: NotifyConfig, mailbox: tuple[Mailbox, int], tmp_path: Path) -> None:
    assert _send(channels, _msg("email", "unit@test.local"), tmp_path).ok
    [mail] = mailbox[0].messages
    assert mail["To"] == "unit@test.local" and mail["Subject"] == "新派工单 #1：噪音"
    assert "测试小区3号楼" in mail.get_body().get_content()  # type: ignore[union-attr]


def test_timeout_5xx_and_refused_connections_are_unacknowledged_answers(
    channels: NotifyConfig, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.state.fail("wecom", "timeout", "500")
    t = _send(channels, _msg("wecom", "env:T_WECOM_URL"), tmp_path)
    assert not t.ok and (t.error or "").startswith("timeout")
    five = _send(channels, _msg("wecom", "env:T_WECOM_URL"), tmp_path)
    assert not five.ok and five.status_code == 500
    gone = _send(channels, _msg("wecom", "http://127.0.0.1:9/cgi-bin/webhook/send?key=x"), tmp_path)
    assert not gone.ok and "ConnectError" in (gone.error or "")


def test_log_channel_writes_the_demo_outbox_with_the_phone_masked(tmp_path: Path) -> None:
    from gis.notify.config import parse_config

    cfg = parse_config({"streets": {"*": {"sms": {"provider": "log"}}}})
    assert _send(cfg, _msg("sms", "13800000002"), tmp_path).ok
    line = json.loads((tmp_path / "outbox.log").read_text(encoding="utf-8"))
    assert line["to"] == "138****0002" and line["title"] == "新派工单 #1：噪音"
