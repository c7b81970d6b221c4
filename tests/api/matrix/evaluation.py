"""Route × role entries for evaluation (考核): KPIs, breakdowns, maps, exports, the 红黑榜, 议事协商."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.evaluation.models import ConsultationTopic
from gis.models import Compound
from tests.api.matrix import BAD, COMMUNITY, OK, PUBLIC, Entry, Expect

# a community's KPIs: wide roles and the community's manager; a grid worker only their cells' units
KPI_AREA: Expect = (OK, OK, OK, 403, 403, 403, 403, 401)
# a cell's KPIs: the grid worker staffs it too
KPI_CELL: Expect = (OK, OK, OK, OK, 403, 403, 403, 401)
# a property company's own KPIs (the company's user reads its own)
KPI_PROPERTY: Expect = (OK, OK, 403, 403, 403, OK, 403, 401)
RANKING: Expect = (OK, OK, OK, OK, OK, OK, 403, 401)
TOPIC_READ: Expect = (OK, OK, OK, OK, 403, OK, 403, 401)
TOPIC_WRITE: Expect = (OK, 403, OK, OK, 403, 403, 403, 401)
BODY: Expect = (422, 422, 422, 422, 422, 422, 422, 401)
STREET = COMMUNITY[:9]
NOV = {"from": "2026-11-01", "to": "2026-11-30"}
AREA = {"params": {"unit": "community", "code": COMMUNITY, **NOV}}
CELL = {"params": {"unit": "cell", "code": "{cell}", **NOV}}


def places(s: Session) -> dict[str, Any]:
    """The property company of the matrix compound, and a 议事协商 topic of that compound."""
    compound = s.scalar(
        select(Compound)
        .where(Compound.code.startswith(COMMUNITY), Compound.property_company_id.is_not(None))
        .order_by(Compound.code)
        .limit(1)
    )
    assert compound is not None and compound.property_company is not None
    topic = s.scalar(select(ConsultationTopic).where(ConsultationTopic.compound_code == compound.code).limit(1))
    if topic is None:
        topic = ConsultationTopic(compound_code=compound.code, title="加装电梯", status="open")
        s.add(topic)
        s.flush()
    return {"property_code": compound.property_company.code, "topic": topic.id}


ENTRIES: dict[str, Entry] = {
    "GET /v1/kpis": ("/v1/kpis", AREA, KPI_AREA),
    "GET /v1/kpis/breakdown": ("/v1/kpis/breakdown", CELL, KPI_CELL),
    "GET /v1/kpis/tickets": ("/v1/kpis/tickets", {"params": {**AREA["params"], "kpi": "solved"}}, KPI_AREA),
    "GET /v1/kpis/patrols": ("/v1/kpis/patrols", {"params": {**AREA["params"], "kpi": "rule_met"}}, KPI_AREA),
    "GET /v1/kpis/map": ("/v1/kpis/map", AREA, KPI_AREA),
    "GET /v1/kpis/export": (
        "/v1/kpis/export",
        {"params": {"unit": "property", "code": "{property_code}", **NOV}},
        KPI_PROPERTY,
    ),
    "GET /v1/rankings/{kind}": ("/v1/rankings/property", {"params": NOV}, RANKING),
    "GET /v1/rankings/{kind}/export": ("/v1/rankings/department/export", {"params": NOV}, RANKING),
    "GET /v1/compounds/{code}/consultations": ("/v1/compounds/{compound}/consultations", {}, TOPIC_READ),
    "POST /v1/compounds/{code}/consultations": ("/v1/compounds/{compound}/consultations", BAD, BODY),
    "GET /v1/consultations/{topic_id}": ("/v1/consultations/{topic}", {}, TOPIC_READ),
    "PATCH /v1/consultations/{topic_id}": ("/v1/consultations/{topic}", {"json": {}}, TOPIC_WRITE),
    "POST /v1/consultations/{topic_id}/meetings": ("/v1/consultations/{topic}/meetings", BAD, BODY),
    # the 通报 (every staff role reads it: it is circulated), and the dashboard shell (no data in it)
    "GET /v1/reports/{kind}": ("/v1/reports/monthly", {"params": {"street": STREET, "period": "2026-11"}}, RANKING),
    "GET /v1/reports/{kind}/file": (
        "/v1/reports/quarterly/file",
        {"params": {"street": STREET, "period": "2026-Q4", "format": "xlsx"}},
        RANKING,
    ),
    "GET /maps/dashboard": ("/maps/dashboard", {}, PUBLIC),
}
