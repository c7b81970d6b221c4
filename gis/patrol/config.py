"""Patrol configuration (data/config/patrol.yaml): the 定岗 rule, GPS cleaning thresholds, the 五必查
checklist and the 四必到 visit frequencies, with per-街道 overrides."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from gis.errors import InvalidInput


@dataclass(frozen=True)
class Rule:
    workers_min: int = 2
    workers_max: int = 3
    required_minutes: int = 120
    enter_m: float = 12.0
    exit_m: float = 10.0
    max_gap_s: int = 600
    coverage_m: float = 30.0
    unvisited_days: int = 7


@dataclass(frozen=True)
class FixLimits:
    max_accuracy_m: float = 50.0
    max_speed_mps: float = 15.0
    far_outside_m: float = 2000.0
    future_skew_s: int = 120
    max_batch: int = 1000


@dataclass(frozen=True)
class Storage:
    """How patrol_fixes is kept (gis/patrol/partitions.py): partition period, periods created ahead, retention."""

    period: str = "month"
    ahead: int = 2
    retention_months: int | None = 13

    def __post_init__(self) -> None:
        if self.period not in ("month", "day"):
            raise ValueError(f"data/config/patrol.yaml storage.period: month or day, got {self.period!r}")
        if self.ahead < 0 or (self.retention_months is not None and self.retention_months < 1):
            raise ValueError("data/config/patrol.yaml storage: ahead >= 0, retention_months >= 1 or null")


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str
    category: str


@dataclass(frozen=True)
class HouseholdKind:
    code: str
    label: str
    every_days: int


@dataclass(frozen=True)
class PatrolConfig:
    rule: Rule
    fixes: FixLimits
    checklist: tuple[ChecklistItem, ...]
    households: dict[str, HouseholdKind]
    ticket_channels: tuple[str, ...] = ()
    ticket_categories: tuple[str, ...] = ()
    subdistricts: dict[str, dict[str, Any]] = field(default_factory=dict)
    storage: Storage = field(default_factory=Storage)

    def rule_for(self, subdistrict: str | None) -> Rule:
        """The 定岗 rule of a 街道 (its overrides over the defaults)."""
        over = self.subdistricts.get(subdistrict or "", {}).get("rule") or {}
        return replace(self.rule, **over) if over else self.rule

    def checklist_for(self, subdistrict: str | None) -> tuple[ChecklistItem, ...]:
        """五必查 plus the items a 街道 adds."""
        extra = self.subdistricts.get(subdistrict or "", {}).get("checklist") or []
        return self.checklist + tuple(ChecklistItem(**i) for i in extra)

    def item(self, code: str, subdistrict: str | None = None) -> ChecklistItem:
        for it in self.checklist_for(subdistrict):
            if code in (it.code, it.label):
                return it
        known = ", ".join(f"{i.code} ({i.label})" for i in self.checklist_for(subdistrict))
        raise InvalidInput(f"未知检查项 / unknown checklist item {code!r}; use one of {known}")

    def household_kind(self, code: str) -> HouseholdKind:
        if code not in self.households:
            raise InvalidInput(f"unknown household kind {code!r}; use one of {', '.join(self.households)}")
        return self.households[code]


def parse_config(raw: dict[str, Any]) -> PatrolConfig:
    try:
        return PatrolConfig(
            rule=Rule(**(raw.get("rule") or {})),
            fixes=FixLimits(**(raw.get("fixes") or {})),
            checklist=tuple(ChecklistItem(**i) for i in raw.get("checklist") or []),
            households={k: HouseholdKind(code=k, **v) for k, v in (raw.get("households") or {}).items()},
            ticket_channels=tuple((raw.get("must_visit_tickets") or {}).get("channels") or ()),
            ticket_categories=tuple((raw.get("must_visit_tickets") or {}).get("categories") or ()),
            subdistricts={str(k): v for k, v in (raw.get("subdistricts") or {}).items()},
            storage=Storage(**(raw.get("storage") or {})),
        )
    except TypeError as exc:
        raise ValueError(f"data/config/patrol.yaml: {exc}") from exc


@lru_cache(maxsize=1)
def load_config() -> PatrolConfig:
    """The shipped configuration (data/config/patrol.yaml)."""
    text = resources.files("data").joinpath("config", "patrol.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("data/config/patrol.yaml: expected a mapping at the top level")
    return parse_config(raw)
