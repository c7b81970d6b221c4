"""The named terms a 红黑榜 score is built from (data/config/evaluation.yaml names them with weights).

A term maps each ranked organisation to a value between 0 and 1 (or None: no data, the term is left out of
that organisation's score and its weight with it). Built-in terms read the KPI rows of the period; other
areas register their own with `register_term` — the 物业服务监督员 monthly ratings (branch `participation`)
plug in here as "supervisor_rating":

    from gis.evaluation.terms import TermContext, register_term

    def supervisor_rating(ctx: TermContext) -> dict[int, float | None]:
        ...  # org id → mean monthly rating in ctx.period, scaled to 0..1
    register_term("supervisor_rating", "物业服务监督员评分", supervisor_rating)

and name it in the YAML (a commented line waits there). Registering must happen on import of the module that
defines the term; `gis.evaluation.rankings` imports `gis.evaluation.plugins` (the list of such modules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gis.evaluation.units import Period


@dataclass(frozen=True)
class TermContext:
    session: Session
    period: Period
    kind: str  # "property" or "department"
    kpis: dict[int, dict[str, Any]]  # organisation id → its KPI row (gis.evaluation.kpis.compute)
    street: str | None = None


TermFn = Callable[[TermContext], dict[int, float | None]]


@dataclass(frozen=True)
class Term:
    name: str
    label: str
    fn: TermFn


TERMS: dict[str, Term] = {}


def register_term(name: str, label: str, fn: TermFn) -> None:
    """Add (or replace) a named score term."""
    TERMS[name] = Term(name, label, fn)


def _rate(key: str) -> TermFn:
    def fn(ctx: TermContext) -> dict[int, float | None]:
        return {org: row.get(key) for org, row in ctx.kpis.items()}

    return fn


def _no_reopen(ctx: TermContext) -> dict[int, float | None]:
    return {org: None if row["reopen_rate"] is None else 1 - row["reopen_rate"] for org, row in ctx.kpis.items()}


register_term("solve_rate", "解决率", _rate("solve_rate"))
register_term("response_rate", "响应率", _rate("response_rate"))
register_term("on_time_rate", "按期办结率", _rate("on_time_rate"))
register_term("satisfaction_rate", "满意率", _rate("satisfaction_rate"))
register_term("follow_up_rate", "回访率", _rate("follow_up_rate"))
register_term("no_reopen_rate", "未重办率 (1 − 重办率)", _no_reopen)
