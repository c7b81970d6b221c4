"""Participation configuration (data/config/participation.yaml): service kinds, on-site sign-in, volunteer-suitable
ticket categories, the 积分 rules and exchange day (per community overrides), and the 监督员 rating items."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from gis.errors import InvalidInput


@dataclass(frozen=True)
class SignIn:
    radius_m: float = 150.0
    early_minutes: int = 30
    late_minutes: int = 30
    max_accuracy_m: float = 100.0


@dataclass(frozen=True)
class PointRule:
    code: str
    label: str
    unit: str
    points_per_unit: float


@dataclass(frozen=True)
class PointsPolicy:
    exchange_day: int | None
    rules: dict[str, PointRule]

    def rule(self, code: str) -> PointRule:
        if code not in self.rules:
            known = ", ".join(f"{r.code} ({r.label})" for r in self.rules.values())
            raise InvalidInput(f"未知积分规则 / no points rule {code!r} in this community; use one of {known}")
        return self.rules[code]


@dataclass(frozen=True)
class ParticipationConfig:
    service_kinds: dict[str, str]
    skills: tuple[str, ...]
    sign_in: SignIn
    volunteer_categories: dict[str, str]  # ticket category -> service kind
    points: dict[str, Any]
    rating_items: dict[str, str]
    communities: dict[str, dict[str, Any]] = field(default_factory=dict)

    def points_for(self, community: str) -> PointsPolicy:
        """The 积分 rules and exchange day of a community (its overrides over the defaults)."""
        over = (self.communities.get(community) or {}).get("points") or {}
        raw_rules = {**(self.points.get("rules") or {}), **(over.get("rules") or {})}
        rules = {code: PointRule(code=code, **r) for code, r in raw_rules.items()}
        day = over.get("exchange_day", self.points.get("exchange_day"))
        return PointsPolicy(exchange_day=int(day) if day is not None else None, rules=rules)

    def kind(self, code: str) -> str:
        if code not in self.service_kinds:
            known = ", ".join(f"{k} ({v})" for k, v in self.service_kinds.items())
            raise InvalidInput(f"未知服务项目类型 / unknown service kind {code!r}; use one of {known}")
        return code

    def check_scores(self, scores: dict[str, int]) -> None:
        """Every fixed item rated once, each 1–5; nothing else."""
        missing = sorted(set(self.rating_items) - set(scores))
        extra = sorted(set(scores) - set(self.rating_items))
        if missing or extra:
            items = ", ".join(f"{k} ({v})" for k, v in self.rating_items.items())
            raise InvalidInput(
                f"评分项不符 / rate exactly the items {items}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else "")
            )
        bad = sorted(k for k, v in scores.items() if not 1 <= v <= 5)
        if bad:
            raise InvalidInput(f"每项评分为1–5分 / each score is 1–5; out of range: {bad}")


def parse_config(raw: dict[str, Any]) -> ParticipationConfig:
    try:
        return ParticipationConfig(
            service_kinds={k["code"]: k["label"] for k in raw.get("service_kinds") or []},
            skills=tuple(raw.get("skills") or ()),
            sign_in=SignIn(**(raw.get("sign_in") or {})),
            volunteer_categories={str(k): str(v) for k, v in (raw.get("volunteer_categories") or {}).items()},
            points=dict(raw.get("points") or {}),
            rating_items={k["code"]: k["label"] for k in raw.get("rating_items") or []},
            communities={str(k): v for k, v in (raw.get("communities") or {}).items()},
        )
    except (TypeError, KeyError) as exc:
        raise ValueError(f"data/config/participation.yaml: {exc}") from exc


@lru_cache(maxsize=1)
def load_config() -> ParticipationConfig:
    """The shipped configuration (data/config/participation.yaml)."""
    text = resources.files("data").joinpath("config", "participation.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("data/config/participation.yaml: expected a mapping at the top level")
    return parse_config(raw)
