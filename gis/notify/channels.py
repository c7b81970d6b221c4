"""Channels: how one outbox message goes out, and what the channel answered.

Each sender takes the message and the 街道's channel settings and returns an `Answer` (acknowledged or not, the
HTTP status, the channel's own answer text). Robots and SMS speak the platforms' public request formats:
- 企业微信 (WeCom) group robot: POST {"msgtype": "markdown", "markdown": {"content"}}, answer {"errcode": 0};
- 钉钉 (DingTalk) robot: the same with "title"/"text", signed: `timestamp` (ms) and
  `sign` = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) in the query string;
- 飞书 (Feishu) robot: {"msg_type": "post", "content": {"post": {"zh_cn": …}}} with `timestamp` (s) and
  `sign` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) in the body, answer {"code": 0};
- SMS, Aliyun Dysmsapi `SendSms` (RPC style, HMAC-SHA1 signature over the sorted, percent-encoded parameters;
  template code + 签名 + TemplateParam JSON; OutId carries our idempotency key), answer {"Code": "OK"};
- a generic JSON webhook with X-Gridgov-Signature (HMAC-SHA256 of the body) and X-Gridgov-Idempotency-Key;
- e-mail over SMTP (stdlib smtplib), Message-ID derived from the idempotency key.
Why hand-written and not Apprise: see docs/notifications.md (we record the channel's answer per attempt, check
the platforms' error codes, and pass our idempotency key on; Apprise returns only True/False)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from gis.notify.config import EmailChannel, NotifyConfigError, SmsChannel, StreetChannels, secret

ANSWER_CHARS = 2000


@dataclass(frozen=True)
class Outgoing:
    id: int
    key: str
    event: str
    channel: str
    address: str | None
    title: str
    body: str
    link: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    ok: bool
    status_code: int | None = None
    answer: str | None = None
    error: str | None = None


class ChannelError(Exception):
    """A message that cannot go out as configured (no address, no template): recorded as the attempt's error."""


def redact(url: str | None) -> str | None:
    """A robot URL without its key/token (query string): what logs and the delivery page may show."""
    if not url or url.startswith("env:"):
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "…" if parts.query else "", ""))


def mask_phone(phone: str | None) -> str | None:
    if not phone or len(phone) < 7:
        return phone
    return phone[:3] + "****" + phone[-4:]


def _text(msg: Outgoing) -> str:
    link = f"\n\n[查看详情]({msg.link})" if msg.link and msg.link not in msg.body else ""
    return f"### {msg.title}\n{msg.body}{link}"


def _json_answer(resp: httpx.Response, code_field: str, ok_value: Any) -> Answer:
    body = resp.text[:ANSWER_CHARS]
    if resp.status_code >= 300:
        return Answer(False, resp.status_code, body, f"HTTP {resp.status_code}")
    try:
        data = resp.json()
    except ValueError:
        return Answer(False, resp.status_code, body, "answer is not JSON")
    value = data.get(code_field, data.get("StatusCode")) if isinstance(data, dict) else None
    if value != ok_value:
        return Answer(False, resp.status_code, body, f"{code_field}={value!r}")
    return Answer(True, resp.status_code, body)


def robot_url(msg: Outgoing) -> str:
    if not msg.address:
        raise ChannelError("no robot URL")
    return secret(msg.address[4:]) if msg.address.startswith("env:") else msg.address


def _robot_secret(channels: StreetChannels, kind: str) -> str | None:
    spec = getattr(channels, kind)
    return secret(spec.secret_env) if spec is not None and spec.secret_env else None


def send_wecom(client: httpx.Client, msg: Outgoing, channels: StreetChannels) -> Answer:
    del channels
    resp = client.post(robot_url(msg), json={"msgtype": "markdown", "markdown": {"content": _text(msg)}})
    return _json_answer(resp, "errcode", 0)


def dingtalk_sign(secret_value: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret_value.encode(), f"{timestamp_ms}\n{secret_value}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_dingtalk(client: httpx.Client, msg: Outgoing, channels: StreetChannels) -> Answer:
    url = robot_url(msg)
    key = _robot_secret(channels, "dingtalk")
    params: dict[str, str] = {}
    if key:
        ts = int(time.time() * 1000)
        params = {"timestamp": str(ts), "sign": dingtalk_sign(key, ts)}
    body = {"msgtype": "markdown", "markdown": {"title": msg.title, "text": _text(msg)}}
    return _json_answer(client.post(url, params=params, json=body), "errcode", 0)


def feishu_sign(secret_value: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret_value}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_feishu(client: httpx.Client, msg: Outgoing, channels: StreetChannels) -> Answer:
    url = robot_url(msg)
    key = _robot_secret(channels, "feishu")
    lines: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in msg.body.splitlines() or [""]]
    if msg.link:
        lines.append([{"tag": "a", "text": "查看详情", "href": msg.link}])
    body: dict[str, Any] = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": msg.title, "content": lines}}}}
    if key:
        ts = int(time.time())
        body = {"timestamp": str(ts), "sign": feishu_sign(key, ts), **body}
    return _json_answer(client.post(url, json=body), "code", 0)


def send_webhook(client: httpx.Client, msg: Outgoing, channels: StreetChannels) -> Answer:
    spec = channels.webhook
    if spec is None:
        raise ChannelError("no webhook configured for this 街道")
    url = spec.url or secret(spec.url_env)
    payload = {"key": msg.key, "event": msg.event, "title": msg.title, "body": msg.body, "link": msg.link,
               "data": msg.data}  # fmt: skip
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Gridgov-Idempotency-Key": msg.key}
    if spec.secret_env:
        headers["X-Gridgov-Signature"] = (
            "sha256=" + hmac.new(secret(spec.secret_env).encode(), raw, hashlib.sha256).hexdigest()
        )
    resp = client.post(url, content=raw, headers=headers)
    ok = 200 <= resp.status_code < 300
    return Answer(ok, resp.status_code, resp.text[:ANSWER_CHARS], None if ok else f"HTTP {resp.status_code}")


def _pct(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], access_key_secret: str, method: str = "POST") -> str:
    """Aliyun RPC signature (SignatureVersion 1.0): HMAC-SHA1 over METHOD&%2F&percent(sorted query)."""
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
    digest = hmac.new((access_key_secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sms_params(data: dict[str, Any]) -> dict[str, str]:
    """Template variables: at most 35 characters each (the providers' limit), links whole (an approved template
    declares them as link variables)."""
    return {k: str(v) if k.endswith("link") else str(v)[:35] for k, v in data.items()}


class SmsProvider:
    """What an SMS provider does: send one templated message to one phone and say what the gateway answered."""

    def send(self, client: httpx.Client, msg: Outgoing, spec: SmsChannel) -> Answer:
        raise NotImplementedError


class AliyunSms(SmsProvider):
    def send(self, client: httpx.Client, msg: Outgoing, spec: SmsChannel) -> Answer:
        template = spec.templates.get(msg.event)
        if not template or not msg.address or not spec.endpoint:
            raise ChannelError(f"no SMS template code for event {msg.event!r} (or no phone / endpoint)")
        params = {
            "AccessKeyId": secret(spec.access_key_id_env), "Action": "SendSms", "Format": "JSON",
            "RegionId": spec.region, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0", "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25", "PhoneNumbers": msg.address, "SignName": spec.sign_name,
            "TemplateCode": template, "OutId": msg.key[:60],
            "TemplateParam": json.dumps(sms_params(msg.data), ensure_ascii=False),
        }  # fmt: skip
        params["Signature"] = aliyun_signature(params, secret(spec.access_key_secret_env))
        return _json_answer(client.post(spec.endpoint, data=params), "Code", "OK")


_log_lock = threading.Lock()


def log_line(path: Path, msg: Outgoing, channel: str) -> Answer:
    """The demo's "send": one JSON line per message in var/notify/outbox.log (phone masked)."""
    address = mask_phone(msg.address) if channel == "sms" else redact(msg.address)
    entry = {"at": datetime.now(UTC).isoformat(), "channel": channel, "to": address, "event": msg.event,
             "title": msg.title, "body": msg.body, "link": msg.link, "key": msg.key}  # fmt: skip
    line = json.dumps(entry, ensure_ascii=False)
    with _log_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
    return Answer(True, None, f"logged to {path.name}")


def send_email(msg: Outgoing, spec: EmailChannel, timeout: float) -> Answer:
    if not msg.address:
        raise ChannelError("no e-mail address")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = spec.sender, msg.address, msg.title
    mail["Message-ID"] = make_msgid(idstring=hashlib.sha256(msg.key.encode()).hexdigest()[:24], domain="gridgov")
    mail.set_content(msg.body + (f"\n\n{msg.link}" if msg.link and msg.link not in msg.body else ""))
    smtp_cls = smtplib.SMTP_SSL if spec.ssl else smtplib.SMTP
    try:
        with smtp_cls(spec.host, spec.port, timeout=timeout) as smtp:
            if spec.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if spec.username_env:
                smtp.login(secret(spec.username_env), secret(spec.password_env))
            refused = smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        return Answer(False, exc.smtp_code, str(exc.smtp_error)[:ANSWER_CHARS], f"SMTP {exc.smtp_code}")
    except smtplib.SMTPRecipientsRefused as exc:
        return Answer(False, None, str(exc.recipients)[:ANSWER_CHARS], "recipient refused")
    if refused:
        return Answer(False, None, str(refused)[:ANSWER_CHARS], "recipient refused")
    return Answer(True, 250, "250 OK")


ROBOT_SENDERS = {"wecom": send_wecom, "dingtalk": send_dingtalk, "feishu": send_feishu, "webhook": send_webhook}
SMS_PROVIDERS: dict[str, SmsProvider] = {"aliyun": AliyunSms()}


def send(client: httpx.Client, msg: Outgoing, channels: StreetChannels, *, log_path: Path, timeout: float) -> Answer:
    """Send one message; network faults become a not-acknowledged Answer (retried by the caller)."""
    try:
        if msg.channel in ROBOT_SENDERS:
            return ROBOT_SENDERS[msg.channel](client, msg, channels)
        if msg.channel == "sms":
            spec = channels.sms
            if spec is None:
                raise ChannelError("no SMS channel configured for this 街道")
            if spec.provider == "log":
                return log_line(log_path, msg, "sms")
            return SMS_PROVIDERS[spec.provider].send(client, msg, spec)
        if msg.channel == "email":
            if channels.email is None:
                raise ChannelError("no e-mail channel configured for this 街道")
            if channels.email.transport == "log":
                return log_line(log_path, msg, "email")
            return send_email(msg, channels.email, timeout)
        raise ChannelError(f"unknown channel {msg.channel!r}")
    except httpx.TimeoutException as exc:
        return Answer(False, None, None, f"timeout: {type(exc).__name__}")
    except (httpx.HTTPError, OSError, smtplib.SMTPException) as exc:
        return Answer(False, None, None, f"{type(exc).__name__}: {str(exc)[:300]}")
    except (ChannelError, NotifyConfigError) as exc:
        return Answer(False, None, None, str(exc))
