"""Ticket configuration: categories (routing) and SLA profiles, read from data/config/*.yaml.

The YAML files ship as package data of `data` (see pyproject), so the loader works from a clean clone
and from an installed package alike. `load_config()` is cached; tests may build `TicketConfig` directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gis.errors import InvalidInput
from gis.settings import get_settings


@dataclass(frozen=True)
class Duration:
    """A span of time: wall-clock (`wall`) or a number of Chinese working days."""

    wall: timedelta | None = None
    working_days: int | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Duration:
        if "working_days" in raw:
            return cls(working_days=int(raw["working_days"]))
        span = timedelta(
            days=float(raw.get("days", 0)), hours=float(raw.get("hours", 0)), minutes=float(raw.get("minutes", 0))
        )
        if span <= timedelta(0):
            raise ValueError(f"duration must be positive: {raw!r}")
        return cls(wall=span)

    def label(self) -> str:
        if self.working_days is not None:
            return f"{self.working_days}个工作日"
        hours = (self.wall or timedelta(0)).total_seconds() / 3600
        return f"{hours:g}小时" if hours < 24 or hours % 24 else f"{hours / 24:g}天"


@dataclass(frozen=True)
class Tier:
    code: str
    label: str
    resolve: Duration
    escalate: str | None = None  # "immediate" | "overdue" | None


@dataclass(frozen=True)
class Profile:
    code: str
    label: str
    stages: dict[str, Duration]
    tiers: dict[str, Tier]
    default_tier: str
    escalate_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    group: str
    unit_type: str
    property: bool = False
    tiers: dict[str, str] = field(default_factory=dict)
    escalate_to: tuple[str, ...] = ()
    hotline: tuple[str, ...] = ()
    public: bool = True  # listed on public feeds (Open311 GET requests); false for personal matters


@dataclass(frozen=True)
class PhotoRules:
    max_bytes: int = 4_000_000
    max_pixels: int = 40_000_000
    thumb_px: int = 320
    types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class TicketConfig:
    categories: dict[str, Category]
    unit_types: dict[str, str]
    profiles: dict[str, Profile]
    default_profile: str
    organization_profiles: dict[str, str]
    dedupe_radius_m: float = 50.0
    photos: PhotoRules = PhotoRules()
    templates: dict[str, str] = field(default_factory=dict)

    def category(self, code: str) -> Category:
        try:
            return self.categories[code]
        except KeyError:
            known = ", ".join(self.categories)
            raise InvalidInput(
                f"未知的工单类别 / unknown category {code!r}; use one of: {known}",
                detail={"known": list(self.categories)},
            ) from None

    def profile_for(self, organization_code: str | None, organization_kind: str | None) -> Profile:
        """SLA profile of the unit a ticket is routed to (property companies may run "1715")."""
        code = None
        if organization_code is not None:
            code = self.organization_profiles.get(organization_code)
        if code is None and organization_kind == "property_company":
            code = self.organization_profiles.get("*")
        return self.profiles[code or self.default_profile]

    def tier(self, profile: Profile, category: Category, requested: str | None) -> Tier:
        code = requested or category.tiers.get(profile.code) or profile.default_tier
        try:
            return profile.tiers[code]
        except KeyError:
            raise InvalidInput(
                f"未知的时限等级 / unknown SLA tier {code!r} for profile {profile.code}; "
                f"use one of: {', '.join(profile.tiers)}"
            ) from None

    def public_view(self) -> dict[str, Any]:
        """What clients may read (GET /v1/ticket-categories): categories with the unit type that handles each,
        SLA profiles with their stage and tier deadlines as labels, and the dedupe radius."""
        return {
            "categories": [
                {"code": c.code, "label": c.label, "group": c.group, "unit_type": c.unit_type, "property": c.property}
                for c in self.categories.values()
            ],
            "profiles": {
                p.code: {
                    "label": p.label,
                    "stages": {stage: due.label() for stage, due in p.stages.items()},
                    "tiers": {
                        t.code: {"label": t.label, "resolve": t.resolve.label(), "escalate": t.escalate}
                        for t in p.tiers.values()
                    },
                }
                for p in self.profiles.values()
            },
            "dedupe_radius_m": self.dedupe_radius_m,
        }

    def category_for_label(self, label: str) -> Category | None:
        """Map a 12345 hotline category label (or a code) to a category."""
        text = label.strip()
        if text in self.categories:
            return self.categories[text]
        for cat in self.categories.values():
            if text == cat.label or text in cat.hotline:
                return cat
        for cat in self.categories.values():
            if any(alias in text for alias in cat.hotline):
                return cat
        return None


def _read_yaml(name: str, directory: Path | None = None) -> dict[str, Any]:
    source = directory / name if directory else resources.files("data").joinpath("config", name)
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping at the top level")
    return data


def parse_config(categories: dict[str, Any], sla: dict[str, Any]) -> TicketConfig:
    """Build the typed configuration from the two YAML documents (raises ValueError on mistakes)."""
    profiles: dict[str, Profile] = {}
    for pcode, p in sla["profiles"].items():
        tiers = {
            tcode: Tier(tcode, str(t["label"]), Duration.parse(t["resolve"]), t.get("escalate"))
            for tcode, t in p["tiers"].items()
        }
        if p["default_tier"] not in tiers:
            raise ValueError(f"profile {pcode}: default_tier {p['default_tier']!r} is not one of its tiers")
        profiles[pcode] = Profile(
            code=pcode,
            label=str(p["label"]),
            stages={s: Duration.parse(d) for s, d in p["stages"].items()},
            tiers=tiers,
            default_tier=p["default_tier"],
            escalate_to=tuple(p.get("escalate_to", ())),
        )
    cats = {}
    for c in categories["categories"]:
        cat = Category(
            code=c["code"],
            label=c["label"],
            group=c.get("group", c["label"]),
            unit_type=c["unit_type"],
            property=bool(c.get("property", False)),
            tiers=dict(c.get("tier", {})),
            escalate_to=tuple(c.get("escalate_to", ())),
            hotline=tuple(c.get("hotline", ())),
            public=bool(c.get("public", True)),
        )
        for pcode, tcode in cat.tiers.items():
            if pcode not in profiles or tcode not in profiles[pcode].tiers:
                raise ValueError(f"category {cat.code}: tier {pcode}.{tcode} is not configured")
        cats[cat.code] = cat
    photos = categories.get("photos", {})
    return TicketConfig(
        categories=cats,
        unit_types=dict(categories.get("unit_types", {})),
        profiles=profiles,
        default_profile=sla["default_profile"],
        organization_profiles=dict(sla.get("organization_profiles") or {}),
        dedupe_radius_m=float(categories.get("dedupe_radius_m", 50)),
        photos=PhotoRules(
            max_bytes=int(photos.get("max_bytes", 4_000_000)),
            max_pixels=int(photos.get("max_pixels", 40_000_000)),
            thumb_px=int(photos.get("thumb_px", 320)),
            types=tuple(photos.get("types", PhotoRules.types)),
        ),
        templates=dict(categories.get("templates", {})),
    )


def read_config(directory: Path | None = None) -> TicketConfig:
    """ticket_categories.yaml and ticket_sla.yaml from `directory` (None: the shipped data/config)."""
    return parse_config(_read_yaml("ticket_categories.yaml", directory), _read_yaml("ticket_sla.yaml", directory))


@lru_cache
def _configured(directory: Path | None) -> TicketConfig:
    return read_config(directory)


# The configuration in force for the current request or task. The app reads its own at start (GRIDGOV_CONFIG_DIR)
# and binds it around every request, so two apps in one process (a test, a second deployment) each see theirs.
_bound: ContextVar[TicketConfig | None] = ContextVar("gridgov_ticket_config", default=None)


def load_config() -> TicketConfig:
    """The ticket configuration in force: the one bound with `use_config` (the app binds its own for every
    request), else the one GRIDGOV_CONFIG_DIR names (the shipped files by default), read once."""
    return _bound.get() or _configured(get_settings().config_dir)


@contextmanager
def use_config(config: TicketConfig) -> Iterator[TicketConfig]:
    """Bind a configuration for the code run inside (and the worker threads it starts)."""
    token = _bound.set(config)
    try:
        yield config
    finally:
        _bound.reset(token)
