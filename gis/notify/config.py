"""Notification configuration (data/config/notify.yaml): channels per 街道, rules (event × audience × channel),
quiet hours, retries and the Chinese templates. Secrets are never in the file: it names environment variables,
read and checked when the app or the worker starts (`check_config`), so a misconfigured channel stops the start
with a message that says what to set, instead of failing at the first message."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from gis.settings import get_settings

CHANNELS = ("inbox", "sms", "email", "wecom", "dingtalk", "feishu", "webhook")
ROBOTS = ("wecom", "dingtalk", "feishu")
AUDIENCES = ("unit", "managers", "reporter", "worker", "planners", "compound_group", "street_group")
EVENTS = (
    "received",  # 受理 (SMS receipt to a phone reporter)
    "dispatched",  # 派单
    "escalation_call",  # 吹哨: a department is called
    "escalated",  # 吹哨 (the ticket, for its managers)
    "overdue",  # a stage's deadline passed
    "resolved",  # 办结 (with the 评单 link)
    "merged",  # a duplicate merged into an older ticket
    "rated",  # 评单
    "worklog",  # the nightly 民情工作日志 of a compound
    "plan_committed",  # a boundary plan went live
    "patrol_missed",  # the 定岗 rule not met by a worker at a compound
    "report_ready",  # a 街道's monthly / quarterly 通报 stored (gis.evaluation.report)
)


class NotifyConfigError(ValueError):
    """The notification configuration cannot work; the message says what to fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retry(_Model):
    max_attempts: int = Field(default=5, ge=1, le=50)
    base_seconds: float = Field(default=30, gt=0)
    max_seconds: float = Field(default=3600, gt=0)
    timeout_seconds: float = Field(default=10, gt=0, le=120)
    lease_seconds: float = Field(default=120, gt=0)  # a claimed message is free again after this (worker died)


class QuietHours(_Model):
    start: time = time(22, 0)
    end: time = time(7, 0)


class SmsChannel(_Model):
    """SMS through a provider: "aliyun" (Dysmsapi SendSms, HMAC-SHA1 signed) or "log" (var/notify/outbox.log)."""

    provider: Literal["aliyun", "log"] = "log"
    endpoint: str | None = None  # e.g. https://dysmsapi.<region>.aliyuncs.com/ (a local stand-in in tests)
    access_key_id_env: str | None = None
    access_key_secret_env: str | None = None
    sign_name: str = "网格服务"  # 短信签名, as approved by the provider
    region: str = "cn-hangzhou"
    templates: dict[str, str] = Field(default_factory=dict)  # event -> approved template code (SMS_123…)


class EmailChannel(_Model):
    transport: Literal["smtp", "log"] = "log"
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "gridgov@localhost"


class RobotChannel(_Model):
    """A group robot of the 街道 itself (its URL carries the robot's key: from the environment); `secret_env`:
    DingTalk / Feishu signing secret, also used for compound robots of that kind in the 街道."""

    url_env: str | None = None
    secret_env: str | None = None


class WebhookChannel(_Model):
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None  # HMAC-SHA256 of the body in X-Gridgov-Signature


class StreetChannels(_Model):
    sms: SmsChannel | None = None
    email: EmailChannel | None = None
    wecom: RobotChannel | None = None
    dingtalk: RobotChannel | None = None
    feishu: RobotChannel | None = None
    webhook: WebhookChannel | None = None


class Rule(_Model):
    event: str
    to: str
    channels: tuple[str, ...]
    roles: tuple[str, ...] = ()  # only users of these roles (empty: any)

    @field_validator("event", "to", "channels")
    @classmethod
    def _known(cls, v: str | tuple[str, ...], info: ValidationInfo) -> str | tuple[str, ...]:
        what, allowed = {"event": ("event", EVENTS), "to": ("audience", AUDIENCES),
                         "channels": ("channel", (*CHANNELS, "robot"))}[info.field_name or ""]  # fmt: skip
        bad = [x for x in ((v,) if isinstance(v, str) else v) if x not in allowed]
        if bad:
            raise ValueError(f"unknown {what} {', '.join(map(repr, bad))}; {what}s: {', '.join(allowed)}")
        return v


class Template(_Model):
    title: str
    body: str


class NotifyConfig(_Model):
    link_base: str | None = None  # None: GRIDGOV_PUBLIC_BASE_URL
    quiet_hours: QuietHours = QuietHours()
    urgent_tiers: tuple[str, ...] = ("major_risk",)
    sms_receipt_channels: tuple[str, ...] = ("hotline_12345", "property_400")
    retry: Retry = Retry()
    concurrency: int = Field(default=8, ge=1, le=64)
    streets: dict[str, StreetChannels] = Field(default_factory=dict)  # 街道 code (or "*") -> channels
    rules: tuple[Rule, ...] = ()
    templates: dict[str, Template] = Field(default_factory=dict)

    def street_for(self, code: str | None) -> tuple[str | None, StreetChannels]:
        """The 街道 entry whose code prefixes `code` (a cell, compound or community code), else "*"."""
        if code:
            for street in sorted(self.streets, key=len, reverse=True):
                if street != "*" and code.startswith(street):
                    return street, self.streets[street]
        return None, self.streets.get("*", StreetChannels())

    def rules_for(self, event: str) -> list[Rule]:
        return [r for r in self.rules if r.event == event]


def _env_names(cfg: NotifyConfig) -> list[tuple[str, str]]:
    """(where, variable) for every secret the configuration names."""
    out = []
    for code, ch in cfg.streets.items():
        if ch.sms and ch.sms.provider == "aliyun":
            for attr in ("access_key_id_env", "access_key_secret_env"):
                out.append((f"streets.{code}.sms.{attr}", getattr(ch.sms, attr) or ""))
        if ch.email and ch.email.transport == "smtp" and (ch.email.username_env or ch.email.password_env):
            out += [(f"streets.{code}.email.username_env", ch.email.username_env or "")]
            out += [(f"streets.{code}.email.password_env", ch.email.password_env or "")]
        for robot in ROBOTS:
            r: RobotChannel | None = getattr(ch, robot)
            if r is not None:
                out += [
                    (f"streets.{code}.{robot}.{a}", getattr(r, a)) for a in ("url_env", "secret_env") if getattr(r, a)
                ]
        if ch.webhook is not None:
            out += [(f"streets.{code}.webhook.{a}", getattr(ch.webhook, a)) for a in ("url_env", "secret_env")
                    if getattr(ch.webhook, a)]  # fmt: skip
    return out


def check_config(cfg: NotifyConfig, env: Mapping[str, str] | None = None) -> None:
    """Refuse a configuration that would fail at the first message: a missing secret, an SMS provider without
    its endpoint or a template for an event its rules send by SMS, a webhook without a URL, a rule's channel
    that no 街道 configures. Raises NotifyConfigError naming every problem (never a secret's value)."""
    env = os.environ if env is None else env
    problems = [f"{where}: environment variable {name or '(not named)'} is not set"
                for where, name in _env_names(cfg) if not name or not env.get(name)]  # fmt: skip
    sms_events = {r.event for r in cfg.rules if "sms" in r.channels}
    for code, ch in cfg.streets.items():
        if ch.sms and ch.sms.provider == "aliyun":
            if not ch.sms.endpoint:
                problems.append(f"streets.{code}.sms: provider aliyun needs an endpoint")
            missing = sorted(sms_events - set(ch.sms.templates))
            if missing:
                problems.append(f"streets.{code}.sms.templates: no template code for event(s) {missing}")
        if ch.webhook is not None and not (ch.webhook.url or ch.webhook.url_env):
            problems.append(f"streets.{code}.webhook: needs url or url_env")
        if ch.email and ch.email.ssl and ch.email.starttls:
            problems.append(f"streets.{code}.email: choose ssl or starttls, not both")
    for rule in cfg.rules:
        for channel in rule.channels:
            if channel in ("inbox", "robot"):
                continue
            if channel in ROBOTS and rule.to == "compound_group":
                continue
            if not any(getattr(ch, channel) is not None for ch in cfg.streets.values()):
                problems.append(f"rules: {rule.event} → {rule.to} by {channel}, but no 街道 configures {channel}")
        if rule.event not in cfg.templates:
            problems.append(f"templates: no template for event {rule.event!r}")
    if problems:
        raise NotifyConfigError(
            "通知配置有误 / the notification configuration cannot work:\n- " + "\n- ".join(problems)
        )


def parse_config(raw: Any, *, source: str = "notify.yaml") -> NotifyConfig:
    if not isinstance(raw, dict):
        raise NotifyConfigError(f"{source}: expected a mapping at the top level")
    try:
        return NotifyConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise NotifyConfigError(f"{source} is invalid:\n- " + "\n- ".join(lines)) from None


def read_config(directory: Path | None = None) -> NotifyConfig:
    """notify.yaml from `directory`, or the shipped data/config one (no directory, or none there)."""
    own = directory / "notify.yaml" if directory else None
    source = own if own is not None and own.is_file() else resources.files("data").joinpath("config", "notify.yaml")
    return parse_config(yaml.safe_load(source.read_text(encoding="utf-8")), source=str(source))


@lru_cache
def _configured(directory: Path | None) -> NotifyConfig:
    return read_config(directory)


_override: list[NotifyConfig] = []


def load_config() -> NotifyConfig:
    """The configuration in force: one set by `set_config` (tests, benches), else GRIDGOV_CONFIG_DIR's file."""
    return _override[-1] if _override else _configured(get_settings().config_dir)


def set_config(cfg: NotifyConfig | None) -> None:
    """Use `cfg` from now on in this process (None: back to the file)."""
    _override.clear()
    if cfg is not None:
        _override.append(cfg)


def secret(name: str | None) -> str:
    """An environment variable named by the configuration (checked at start-up)."""
    value = os.environ.get(name or "")
    if not value:
        raise NotifyConfigError(f"environment variable {name} is not set")
    return value


def startup_check() -> NotifyConfig:
    """Read and check the configuration in force (worker start-up; the app checks its own settings' file)."""
    cfg = load_config()
    check_config(cfg)
    return cfg
