"""红黑榜: the weighted score, ties sharing a rank and both landing on the red list, missing terms explained."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.evaluation import rankings
from gis.evaluation.units import Period, resolve_unit
from tests.evaluation.conftest import World, add_ticket

JAN = Period(date(2026, 1, 1), date(2026, 1, 31))
RULE = {
    "label": "测试榜",
    "min_received": 1,
    "red": {"top": 1, "min_score": 85},
    "black": {"bottom": 1, "max_score": 70},
    "terms": [{"term": "solve_rate", "weight": 1}, {"term": "satisfaction_rate", "weight": 1}],
}


def test_ties_share_a_rank_and_the_edge_of_the_red_list(session: Session, world: World) -> None:
    # P1 has T3 (solved, 4 stars); P2 the same figures; P3 one unsolved, unrated ticket
    add_ticket(session, cell=world.right, community=world.community, opened="2026-01-12 09:00",
               resolved="2026-01-12 11:00", unit=world.p2, stars=5)  # fmt: skip
    add_ticket(session, cell=world.right, community=world.community, opened="2026-01-13 09:00", unit=world.p3)
    session.commit()
    rule = rankings.parse_rule("property", RULE)
    street = resolve_unit(session, "street", world.street)
    out = rankings.rank(session, "property", JAN, street=street, rule=rule)
    mine = [e for e in out["ranked"] if e["code"].startswith("KPI-")]
    assert [(e["name"], e["rank"], e["score"], e["tied"], e["list"]) for e in mine] == [
        ("乙物业", 1, 100.0, True, "red"),
        ("甲物业", 1, 100.0, True, "red"),
        ("丙物业", 3, 0.0, False, "black"),
    ]
    assert mine[2]["note"] == "无数据未计: 满意率"
    assert {"rank": 1, "names": ["乙物业", "甲物业"]} in out["ties"]
    assert "并列" in out["tie_rule"] and "解决率×1" in out["rule"]


def test_too_few_tickets_are_listed_not_ranked(session: Session, world: World) -> None:
    out = rankings.rank(session, "department", JAN, street=resolve_unit(session, "street", world.street))
    assert "测试城管" in [e["name"] for e in out["too_few"]]
    assert all(e["rank"] is None for e in out["too_few"])


def test_the_shipped_rule_names_known_terms_and_an_unknown_term_is_refused() -> None:
    assert rankings.rule_for("property").terms[0].term == "solve_rate"
    assert "supervisor_rating" in [t.term for t in rankings.rule_for("property").terms]  # gis.participation's
    with pytest.raises(InvalidInput, match="no_such_term"):
        rankings.parse_rule("property", {**RULE, "terms": [{"term": "no_such_term", "weight": 1}]})
