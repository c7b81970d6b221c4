"""Evaluation endpoints (考核): KPIs of a unit and period with the tickets behind each figure, breakdowns by
area / category / month, the choropleth data, exports, the 红黑榜, the 通报, 议事协商. Thin: parse, call
gis.evaluation, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import ORJSONResponse, Response

from api.deps import CurrentUser, PageQuery, SessionDep
from api.schemas.common import FeatureCollectionPublic, error_responses
from api.schemas.evaluation import (
    BreakdownPublic,
    KpiPatrolPage,
    KpiPublic,
    KpiTicketPage,
    MeetingCreate,
    RankingPublic,
    TopicCreate,
    TopicPublic,
    TopicUpdate,
    UnitKind,
)
from gis.auth import require_role
from gis.evaluation import areas, consultations, exports, kpis, patrols, rankings
from gis.evaluation.units import Period, Unit, authorize, resolve_unit

router = APIRouter(prefix="/v1", tags=["evaluation"], responses=error_responses(401, 403, 404, 422))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RANKING_READERS = ("admin", "planner", "manager", "grid_worker", "department", "property")
BreakdownBy = Literal["cell", "compound", "community", "category", "tier", "channel", "unit", "month"]


def period_query(
    first: Annotated[date, Query(alias="from", description="first local day (Asia/Shanghai), YYYY-MM-DD")],
    last: Annotated[date, Query(alias="to", description="last local day, included")],
) -> Period:
    return Period.parse(first, last)


PeriodQuery = Annotated[Period, Depends(period_query)]


def unit_query(
    session: SessionDep,
    user: CurrentUser,
    unit: Annotated[UnitKind, Query(description="cell, compound, community, street, department, property, worker")],
    code: Annotated[str, Query(max_length=60, description="the unit's code (a worker: their username)")],
) -> Unit:
    u = resolve_unit(session, unit, code)
    authorize(session, user, u)
    return u


UnitQuery = Annotated[Unit, Depends(unit_query)]


def _unit_public(u: Unit) -> dict[str, str]:
    return {"kind": u.kind, "code": u.code, "name": u.name, "label": u.label}


def _link(u: Unit, p: Period, kpi: str, *, rows: str = "tickets", **extra: str) -> str:
    q = {"unit": u.kind, "code": u.code, "from": p.first.isoformat(), "to": p.last.isoformat(), "kpi": kpi, **extra}
    return f"/v1/kpis/{rows}?" + urlencode(q)


@router.get("/kpis", response_model=KpiPublic)
def get_kpis(session: SessionDep, user: CurrentUser, unit: UnitQuery, period: PeriodQuery) -> Any:
    """Every KPI of the unit for the period (tickets received in it), each with the URL of its tickets."""
    fig, tiers = kpis.overview(session, period, unit=unit, user=user)
    links = {k: _link(unit, period, k) for k in (*kpis.DRILLABLE, *kpis.RATES)}
    return {
        "unit": _unit_public(unit),
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "figures": fig,
        "labels": kpis.LABELS,
        "links": links,
        "by_tier": [
            {
                "tier": t["key"],
                "label": t["tier_label"],
                "received": t["received"],
                "solved": t["solved"],
                "on_time": t["on_time"],
                "on_time_rate": t["on_time_rate"],
            }  # fmt: skip
            for t in tiers
        ],
        "patrol": (patrol := patrols.patrol_kpis(session, period, unit)),
        "patrol_labels": patrols.LABELS,
        "patrol_links": {k: _link(unit, period, k, rows="patrols") for k in (patrol or {}) if k in patrols.ROW_KPIS},
    }


@router.get("/kpis/breakdown", response_model=BreakdownPublic)
def get_breakdown(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitQuery,
    period: PeriodQuery,
    by: BreakdownBy = "community",
    figures: Annotated[
        Literal["all", "basic"], Query(description="basic: only the ticket-table figures (fast; others null)")
    ] = "all",
) -> Any:
    """The KPIs per cell, compound, community, category, SLA tier, channel, handling unit or month (trends)."""
    rows = kpis.compute(session, period, unit=unit, user=user, group_by=by, basic=figures == "basic")
    names = kpis.group_names(session, by, [r["key"] for r in rows])
    return {
        "unit": _unit_public(unit),
        "by": by,
        "labels": kpis.LABELS,
        "rows": [
            {"key": r["key"], "name": names.get(r["key"]), "figures": {k: v for k, v in r.items() if k != "key"}}
            for r in rows
        ],
    }


@router.get("/kpis/tickets", response_model=KpiTicketPage)
def get_kpi_tickets(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitQuery,
    period: PeriodQuery,
    page: PageQuery,
    kpi: Annotated[str, Query(max_length=40, description="a figure name, e.g. solved, received, response_rate")],
    group_by: Annotated[BreakdownBy | None, Query(description="with group: one row of a breakdown")] = None,
    group: Annotated[str | None, Query(max_length=60)] = None,
) -> Any:
    """The tickets a figure counts (a rate: its numerator), exactly as many as the figure, jurisdiction applied."""
    grp = (group_by, group or "") if group_by else None
    matched, items = kpis.tickets_behind(
        session, period, kpi, unit=unit, user=user, group=grp, limit=page.limit, offset=page.offset
    )
    return {"kpi": kpi, "label": kpis.LABELS.get(kpi, kpi), "numberMatched": matched, "items": items}


@router.get("/kpis/patrols", response_model=KpiPatrolPage)
def get_kpi_patrols(
    session: SessionDep,
    unit: UnitQuery,
    period: PeriodQuery,
    page: PageQuery,
    kpi: Annotated[str, Query(max_length=40, description="a patrol figure: rule_met, rule_missed, coverage, …")],
) -> Any:
    """The rows a patrol figure counts (定岗: worker × compound × working day; coverage: compounds; 四必到: one per
    required or missed visit), exactly as many as the figure, for a unit the caller may read."""
    matched, items = patrols.patrol_rows(session, period, unit, kpi, limit=page.limit, offset=page.offset)
    return {"kpi": kpi, "label": patrols.ROW_LABELS.get(kpi, kpi), "numberMatched": matched, "items": items}


@router.get("/kpis/map", response_class=ORJSONResponse, response_model=FeatureCollectionPublic)
def get_kpi_map(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitQuery,
    period: PeriodQuery,
    kpi: Annotated[str, Query(max_length=40)] = "received",
    level: Literal["cell", "community"] = "cell",
    figures: Annotated[
        Literal["all", "basic"],
        Query(description="basic: only the ticket-table figures (fast; others null); the kpi must be one of them"),
    ] = "all",
) -> Any:
    """The choropleth: every cell (or community) of a 街道 / 社区 with its KPIs, `value` = the chosen one; cells
    as they were at the end of the period."""
    fc = areas.kpi_map(session, period, unit=unit, user=user, level=level, kpi=kpi, basic=figures == "basic")
    return ORJSONResponse(fc)


@router.get(
    "/kpis/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the file (Content-Disposition)"}},
)
def export_kpis(
    session: SessionDep,
    user: CurrentUser,
    unit: UnitQuery,
    period: PeriodQuery,
    by: BreakdownBy | None = None,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """The KPIs (or a breakdown) as CSV (UTF-8 with BOM) or Excel, Chinese headers."""
    rows = kpis.compute(session, period, unit=unit, user=user, group_by=by)
    header, body = exports.kpi_table(rows, key_label=kpis.GROUPS[by][1] if by else None)
    data = exports.to_bytes([("考核指标", header, body)], format)
    return _file(data, format, f"kpis-{unit.kind}-{unit.code}-{period.first}-{period.last}")


def _file(data: bytes, fmt: str, stem: str) -> Response:
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


def _ranking(session: Any, user: Any, kind: str, period: Period, street: str | None) -> dict[str, Any]:
    require_role(user, *RANKING_READERS)
    unit = resolve_unit(session, "street", street) if street else None
    return rankings.rank(session, kind, period, street=unit)


@router.get("/rankings/{kind}", response_model=RankingPublic)
def get_ranking(
    session: SessionDep,
    user: CurrentUser,
    kind: Literal["property", "department"],
    period: PeriodQuery,
    street: Annotated[str | None, Query(max_length=20, description="a 街道 code: its tickets only")] = None,
) -> Any:
    """红黑榜: property companies or departments ranked by the weighted score (rule, weights and ties printed)."""
    return _ranking(session, user, kind, period, street)


@router.get(
    "/rankings/{kind}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the file (Content-Disposition)"}},
)
def export_ranking(
    session: SessionDep,
    user: CurrentUser,
    kind: Literal["property", "department"],
    period: PeriodQuery,
    street: Annotated[str | None, Query(max_length=20)] = None,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """The 红黑榜 as CSV or Excel (rank, name, score, list, received, each term)."""
    out = _ranking(session, user, kind, period, street)
    header, body = exports.ranking_table(out)
    data = exports.to_bytes([(out["label"], header, body)], format)
    return _file(data, format, f"ranking-{kind}-{period.first}-{period.last}")


@router.get("/compounds/{code}/consultations", response_model=list[TopicPublic])
def get_topics(session: SessionDep, user: CurrentUser, code: str) -> Any:
    """议事协商: the compound's topics with their rounds and agreement rates."""
    return consultations.list_topics(session, user, code)


@router.post("/compounds/{code}/consultations", response_model=TopicPublic, status_code=status.HTTP_201_CREATED)
def post_topic(session: SessionDep, user: CurrentUser, code: str, body: TopicCreate) -> Any:
    """Open a topic (e.g. 加装电梯) for a compound, optionally linked to tickets."""
    return consultations.create_topic(
        session, user, code, title=body.title, description=body.description, ticket_ids=body.ticket_ids
    )


@router.get("/consultations/{topic_id}", response_model=TopicPublic)
def get_topic(session: SessionDep, user: CurrentUser, topic_id: int) -> Any:
    return consultations.get_topic(session, user, topic_id)


@router.patch("/consultations/{topic_id}", response_model=TopicPublic)
def patch_topic(session: SessionDep, user: CurrentUser, topic_id: int, body: TopicUpdate) -> Any:
    """Record the outcome (agreed / rejected / shelved) or relink the tickets."""
    return consultations.update_topic(
        session, user, topic_id, status=body.status, outcome=body.outcome, ticket_ids=body.ticket_ids
    )


@router.post("/consultations/{topic_id}/meetings", response_model=TopicPublic, status_code=status.HTTP_201_CREATED)
def post_meeting(session: SessionDep, user: CurrentUser, topic_id: int, body: MeetingCreate) -> Any:
    """The next round (圆桌会议): date, place, attendance, votes, minutes, photos."""
    return consultations.add_meeting(session, user, topic_id, **body.model_dump())
