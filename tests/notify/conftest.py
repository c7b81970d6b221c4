"""Notification fixtures: the channels' stand-ins on 127.0.0.1 (gis.notify.receiver for WeCom, DingTalk,
Feishu, Aliyun SMS and the webhook; aiosmtpd for e-mail), and a configuration that points every channel of
every 街道 at them, with secrets in the environment as in production."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from importlib import resources
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from gis.notify import config as notify_config
from gis.notify.config import EVENTS, NotifyConfig, parse_config
from gis.notify.deliver import Stats, deliver_due
from gis.notify.receiver import Receiver, ReceiverState
from tests.tickets.conftest import Area, area  # noqa: F401  (the ticket fixtures, reused)

SECRETS = {
    "T_SMS_ID": "test-key-id",
    "T_SMS_SECRET": "test-key-secret",
    "T_DING_SECRET": "SECtest-dingtalk",
    "T_FEISHU_SECRET": "test-feishu",
    "T_HOOK_SECRET": "test-hook",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        del server, session
        msg = message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    state = ReceiverState(
        wecom_keys={"test-wecom"},
        dingtalk_secret=SECRETS["T_DING_SECRET"],
        feishu_secret=SECRETS["T_FEISHU_SECRET"],
        sms_key_id=SECRETS["T_SMS_ID"],
        sms_secret=SECRETS["T_SMS_SECRET"],
        webhook_secret=SECRETS["T_HOOK_SECRET"],
        timeout_s=1.0,
    )
    with Receiver(state) as r:
        yield r


@pytest.fixture()
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def channel_config(receiver_url: str, smtp_port: int, **overrides: Any) -> NotifyConfig:
    """The shipped rules and templates, with every channel pointed at the local stand-ins."""
    raw = yaml.safe_load(resources.files("data").joinpath("config", "notify.yaml").read_text(encoding="utf-8"))
    raw["streets"] = {
        "*": {
            "sms": {"provider": "aliyun", "endpoint": f"{receiver_url}/sms/", "access_key_id_env": "T_SMS_ID",
                    "access_key_secret_env": "T_SMS_SECRET", "sign_name": "测试街道",
                    "templates": {e: f"SMS_{1000 + i}" for i, e in enumerate(EVENTS)}},
            "email": {"transport": "smtp", "host": "127.0.0.1", "port": smtp_port, "sender": "wangge@test.local"},
            "wecom": {"url_env": "T_WECOM_URL"},
            "dingtalk": {"url_env": "T_DING_URL", "secret_env": "T_DING_SECRET"},
            "feishu": {"url_env": "T_FEISHU_URL", "secret_env": "T_FEISHU_SECRET"},
            "webhook": {"url": f"{receiver_url}/hook", "secret_env": "T_HOOK_SECRET"},
        }
    }  # fmt: skip
    raw["quiet_hours"] = {"start": "00:00", "end": "00:00"}  # off, unless a test sets them
    raw["retry"] = {"max_attempts": 3, "base_seconds": 10, "max_seconds": 600, "timeout_seconds": 0.5}
    raw["concurrency"] = 1
    raw.update(overrides)
    return parse_config(raw)


@pytest.fixture()
def channels(
    receiver: Receiver, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> Iterator[NotifyConfig]:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("T_WECOM_URL", f"{receiver.url}/cgi-bin/webhook/send?key=test-wecom")
    monkeypatch.setenv("T_DING_URL", f"{receiver.url}/robot/send?access_token=test-ding")
    monkeypatch.setenv("T_FEISHU_URL", f"{receiver.url}/open-apis/bot/v2/hook/test-feishu")
    cfg = channel_config(receiver.url, mailbox[1])
    notify_config.check_config(cfg)
    notify_config.set_config(cfg)
    try:
        yield cfg
    finally:
        notify_config.set_config(None)


def deliver(sessions: sessionmaker[Session], now: datetime | None = None) -> Stats:
    """Run the delivery job once, in the test's transaction (one connection: one message at a time)."""
    return deliver_due(sessions, now=now, concurrency=1)
