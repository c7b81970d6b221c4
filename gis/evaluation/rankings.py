"""红黑榜: property companies and departments ranked by a weighted score of their KPIs (rule and weights in
data/config/evaluation.yaml, printed with the list), ties shared and explained."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.evaluation import kpis
from gis.evaluation import plugins as _plugins  # noqa: F401  (modules registering extra terms)
from gis.evaluation.terms import TERMS, TermContext
from gis.evaluation.units import ORG_KINDS, Period, Unit
from gis.models import Organization
from gis.tickets.models import Ticket

TIE_RULE = (
    "得分相同（精确到0.01）的单位并列同一名次（如 1、2、2、4），并列者按名称排序；"
    "红榜、黑榜名额的边界上出现并列时，并列单位一并列入。"
)


@dataclass(frozen=True)
class Weighted:
    term: str
    weight: float


@dataclass(frozen=True)
class RankingRule:
    kind: str
    label: str
    min_received: int
    red_top: int
    red_min: float
    black_bottom: int
    black_max: float
    terms: tuple[Weighted, ...]

    def describe(self) -> str:
        parts = "，".join(f"{TERMS[w.term].label}×{w.weight:g}" for w in self.terms)
        total = sum(w.weight for w in self.terms)
        return (
            f"得分 = 100 × ({parts}) ÷ {total:g}；缺少数据的指标不计入该单位得分（权重随之扣除）。"
            f"受理少于 {self.min_received} 件的单位列为样本不足，不参与排名。"
            f"红榜：前 {self.red_top} 名且得分 ≥ {self.red_min:g}；黑榜：后 {self.black_bottom} 名且得分 < "
            f"{self.black_max:g}。"
        )


def parse_rule(kind: str, raw: dict[str, Any]) -> RankingRule:
    terms = tuple(Weighted(str(t["term"]), float(t["weight"])) for t in raw.get("terms", []))
    unknown = [w.term for w in terms if w.term not in TERMS]
    if unknown:
        raise InvalidInput(f"evaluation.yaml: unknown term(s) {unknown}; known: {', '.join(sorted(TERMS))}")
    if not terms or any(w.weight <= 0 for w in terms):
        raise InvalidInput(f"evaluation.yaml: ranking {kind} needs terms with positive weights")
    return RankingRule(
        kind=kind,
        label=str(raw.get("label", kind)),
        min_received=int(raw.get("min_received", 1)),
        red_top=int(raw["red"]["top"]),
        red_min=float(raw["red"]["min_score"]),
        black_bottom=int(raw["black"]["bottom"]),
        black_max=float(raw["black"]["max_score"]),
        terms=terms,
    )


@lru_cache(maxsize=1)
def load_config() -> dict[str, Any]:
    """data/config/evaluation.yaml as a mapping."""
    text = resources.files("data").joinpath("config", "evaluation.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("data/config/evaluation.yaml: expected a mapping at the top level")
    return raw


def rule_for(kind: str, raw: dict[str, Any] | None = None) -> RankingRule:
    if kind not in ORG_KINDS:
        raise InvalidInput(f"unknown ranking {kind!r}; use property or department")
    return parse_rule(kind, (raw or load_config())["rankings"][kind])


def score(rule: RankingRule, values: dict[str, float | None]) -> tuple[float | None, list[str]]:
    """The weighted score (0–100) over the terms with a value, and the terms left out."""
    present = [w for w in rule.terms if values.get(w.term) is not None]
    missing = [w.term for w in rule.terms if values.get(w.term) is None]
    weight = sum(w.weight for w in present)
    if not weight:
        return None, missing
    total = sum(w.weight * float(values[w.term] or 0.0) for w in present)
    return round(100 * total / weight, 2), missing


def rank(
    session: Session,
    kind: str,
    period: Period,
    *,
    street: Unit | None = None,
    rule: RankingRule | None = None,
) -> dict[str, Any]:
    """The ranked list with red and black lists, the rule printed, the ties explained."""
    rule = rule or rule_for(kind)
    stmt = select(Organization.id, Organization.name, Organization.code).where(Organization.kind == ORG_KINDS[kind])
    found = session.execute(stmt).all()
    orgs = {r.id: r.name for r in found}
    codes = {r.id: r.code for r in found}
    extra: list[ColumnElement[bool]] = [Ticket.unit_id.in_(list(orgs))]
    rows = kpis.compute(session, period, unit=street, user=None, group_by="unit", extra=extra)
    by_org = {r["key"]: r for r in rows if r["key"] in orgs}
    ctx = TermContext(session, period, kind, by_org, street.code if street else None)
    term_values = {w.term: TERMS[w.term].fn(ctx) for w in rule.terms}
    ranked: list[dict[str, Any]] = []
    too_few: list[dict[str, Any]] = []
    for org_id, name in orgs.items():
        k = by_org.get(org_id)
        received = k["received"] if k else 0
        values = {t: term_values[t].get(org_id) for t in term_values}
        entry = {"organization_id": org_id, "code": codes[org_id], "name": name, "received": received,
                 "terms": values, "kpis": k}  # fmt: skip
        if received < rule.min_received:
            too_few.append({**entry, "score": None, "rank": None, "left_out": [], "note": "样本不足"})
            continue
        s, missing = score(rule, values)
        entry.update(score=s, left_out=missing, note="")
        if missing:
            entry["note"] = "无数据未计: " + "、".join(TERMS[m].label for m in missing)
        ranked.append(entry)
    ranked.sort(key=lambda e: (-(e["score"] if e["score"] is not None else -1), e["name"]))
    prev: float | None = None
    rank_no = 0
    for i, e in enumerate(ranked, start=1):
        if e["score"] != prev:
            rank_no, prev = i, e["score"]
        e["rank"] = rank_no
        e["tied"] = False
    for e in ranked:
        e["tied"] = sum(1 for o in ranked if o["rank"] == e["rank"]) > 1
    red = [e for e in ranked if e["rank"] <= rule.red_top and (e["score"] or 0) >= rule.red_min]
    # rank from the bottom, ties sharing: the worst score is bottom rank 1
    black = []
    for e in ranked:
        bottom_rank = 1 + sum(1 for o in ranked if (o["score"] or 0) < (e["score"] or 0))
        if bottom_rank <= rule.black_bottom and (e["score"] or 0) < rule.black_max:
            black.append(e)
    black.sort(key=lambda e: ((e["score"] or 0), e["name"]))
    ties = sorted({e["rank"] for e in ranked if e["tied"]})
    for e in ranked:
        e["list"] = "red" if e in red else "black" if e in black else ""
    return {
        "kind": kind,
        "label": rule.label,
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "street": street.code if street else None,
        "rule": rule.describe(),
        "weights": [{"term": w.term, "label": TERMS[w.term].label, "weight": w.weight} for w in rule.terms],
        "tie_rule": TIE_RULE,
        "ties": [{"rank": r, "names": [e["name"] for e in ranked if e["rank"] == r]} for r in ties],
        "ranked": ranked,
        "red": [e["organization_id"] for e in red],
        "black": [e["organization_id"] for e in black],
        "too_few": too_few,
    }
