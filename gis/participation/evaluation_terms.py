"""The 物业服务监督员 monthly ratings as a 红黑榜 term ("supervisor_rating", gis.evaluation.terms): each
property company's mean rating over the months of the period (`ratings.property_scores`, 0–100), on 0–1.
A company nobody rated in the period has no value: the term is left out of its score (and the page says so)."""

from __future__ import annotations

from datetime import date

from gis.evaluation.terms import TermContext, register_term
from gis.participation.ratings import property_scores


def _months(first: date, last: date) -> list[date]:
    months, m = [], date(first.year, first.month, 1)
    while m <= last:
        months.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return months


def supervisor_rating(ctx: TermContext) -> dict[int, float | None]:
    if ctx.kind != "property":
        return dict.fromkeys(ctx.kpis)
    orgs = list(ctx.kpis)
    per_month = [property_scores(ctx.session, m, orgs) for m in _months(ctx.period.first, ctx.period.last)]
    out: dict[int, float | None] = {}
    for org in orgs:
        scores = [s[org] for s in per_month if org in s]
        out[org] = round(sum(scores) / len(scores) / 100, 4) if scores else None
    return out


register_term("supervisor_rating", "物业服务监督员评分", supervisor_rating)
