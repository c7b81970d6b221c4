"""Patrol endpoints (巡查): assignments (定岗), patrols and their GPS fixes, check-ins, the 五必查 checklist,
the worker's day, derived figures (rule, coverage, unvisited, tracks), 四必到 register, 民情工作日志.
Thin: parse, call gis.patrol, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, ORJSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from api.deps import BearerCredentials, CurrentUser, SessionDep, current_user
from api.ingest_route import handle_fixes
from api.paging import GEOJSON
from api.schemas.common import FeatureCollectionPublic, error_responses
from api.schemas.patrols import (
    AnswersCreate,
    AnswersResult,
    AssignmentPublic,
    AssignmentUpdate,
    AssignmentUpdated,
    CheckinCreate,
    CheckinPublic,
    ChecklistItemPublic,
    CoverageRow,
    FixBatch,
    FixBatchResult,
    HouseholdCreate,
    HouseholdPublic,
    MustVisitDay,
    PatrolCreate,
    PatrolEnd,
    PatrolLogPublic,
    PatrolPublic,
    RuleRow,
    TodayPublic,
    UnvisitedRow,
)
from gis.auth import require_role
from gis.models import utcnow
from gis.patrol import access, assignments, daymap, derive, mustvisit, patrols, today, visits, worklog
from gis.patrol.config import load_config
from maps.worklog_page import worklog_page

router = APIRouter(prefix="/v1", tags=["patrols"], responses=error_responses(401, 403, 404, 409, 422))

DateQuery = Annotated[date, Query(description="local day (Asia/Shanghai), YYYY-MM-DD")]
CommunityQuery = Annotated[str | None, Query(max_length=20, description="community code (managers: required)")]


@router.get("/patrols/assignments", response_model=list[AssignmentPublic])
def get_assignments(session: SessionDep, user: CurrentUser, community: Annotated[str, Query(max_length=20)]) -> Any:
    """定岗: every compound of a community with its assigned workers."""
    return assignments.list_assignments(session, user, community=community)


@router.put("/compounds/{code}/assignments", response_model=AssignmentUpdated)
def put_assignments(session: SessionDep, user: CurrentUser, code: str, body: AssignmentUpdate) -> Any:
    """Replace a compound's assigned workers (2–3 by default; the 街道's rule in patrol.yaml)."""
    ids = assignments.set_assignments(session, user, code, body.worker_ids)
    return {"compound_code": code, "worker_ids": ids}


@router.post("/patrols", response_model=PatrolPublic, status_code=status.HTTP_201_CREATED)
def start_patrol(session: SessionDep, user: CurrentUser, body: PatrolCreate) -> Any:
    """Start a patrol (a replayed client_key returns the same patrol)."""
    return patrols.patrol_summary(patrols.start_patrol(session, user, client_key=body.client_key))


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` inlined (for a request body the handler reads itself)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


_FIX_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _inline_schema(FixBatch)}}}}


@router.post("/patrols/{patrol_id}/fixes", response_model=FixBatchResult, openapi_extra=_FIX_BODY)
async def post_fixes(request: Request, creds: BearerCredentials, patrol_id: int) -> Response:
    """A batch of GPS fixes (≤ 1000, body `FixBatch`); idempotent on batch_key, deduplicated on time, bad fixes
    flagged."""
    # W9's hot path: usually answered before the router by api/ingest_route.py, with the same function
    del creds  # declared for the OpenAPI security scheme; handle_fixes reads the header itself
    return await handle_fixes(request, patrol_id, request.headers.get("authorization"))


@router.post("/patrols/{patrol_id}/checkins", response_model=CheckinPublic, status_code=201)
def post_checkin(session: SessionDep, user: CurrentUser, patrol_id: int, body: CheckinCreate) -> Any:
    """Check in at a compound (named, or the one at the point); may record 四必到 households visited."""
    visit = visits.check_in(
        session, user, patrol_id, client_key=body.client_key, lon=body.lon, lat=body.lat, t=body.t, crs=body.crs,
        compound_code=body.compound_code, households=body.households,
    )  # fmt: skip
    return {"visit_id": visit.id, "compound_code": visit.compound_code}


@router.get("/patrols/checklist", response_model=list[ChecklistItemPublic], dependencies=[Depends(current_user)])
def get_checklist(subdistrict: Annotated[str | None, Query(max_length=20)] = None) -> Any:
    """五必查 items (plus a 街道's own) and the ticket category each suggests."""
    items = load_config().checklist_for(subdistrict)
    return [{"code": i.code, "label": i.label, "category": i.category} for i in items]


@router.post("/patrols/visits/{visit_id}/answers", response_model=AnswersResult)
def post_answers(session: SessionDep, user: CurrentUser, visit_id: int, body: AnswersCreate) -> Any:
    """Answer the checklist of a visit; each "problem" becomes one ticket (channel "patrol")."""
    answers = [a.model_dump() for a in body.answers]
    return visits.answer_checklist(session, user, visit_id, client_key=body.client_key, answers=answers)


@router.post("/patrols/{patrol_id}/end", response_model=PatrolPublic)
def end_patrol(session: SessionDep, user: CurrentUser, patrol_id: int, body: PatrolEnd | None = None) -> Any:
    """End a patrol (idempotent)."""
    return patrols.patrol_summary(patrols.end_patrol(session, user, patrol_id, at=body.t if body else None))


@router.get("/patrols/me/today", response_model=TodayPublic)
def my_today(session: SessionDep, user: CurrentUser) -> Any:
    """My day: assigned compounds with minutes on site, must-visit list, my tickets."""
    return today.my_day(session, user)


@router.get("/patrols/rule", response_model=list[RuleRow])
def get_rule(session: SessionDep, user: CurrentUser, date: DateQuery, community: CommunityQuery = None) -> Any:
    """定岗 rule per assigned worker × compound: minutes on site that day, met or not."""
    return derive.rule_report(session, user, day=date, community=community)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/patrols/rule.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the workbook (Content-Disposition)"}},
)
def get_rule_xlsx(
    session: SessionDep, user: CurrentUser, date: DateQuery, community: CommunityQuery = None
) -> Response:
    """The 定岗 rule table of a day as Excel (the patrol map's table)."""
    rows = derive.rule_report(session, user, day=date, community=community)
    name = f"rule-{date.isoformat()}" + (f"-{community}" if community else "")
    return Response(
        daymap.rule_workbook(rows, date), media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )  # fmt: skip


@router.get("/patrols/coverage", response_model=list[CoverageRow])
def get_coverage(session: SessionDep, user: CurrentUser, date: DateQuery, community: CommunityQuery = None) -> Any:
    """Share of each cell's area within coverage_m of the day's tracks."""
    return derive.coverage(session, user, day=date, community=community)


@router.get("/patrols/unvisited", response_model=list[UnvisitedRow])
def get_unvisited(
    session: SessionDep, user: CurrentUser, days: Annotated[int, Query(ge=1, le=366)] = 7,
    community: CommunityQuery = None,
) -> Any:  # fmt: skip
    """Compounds nobody visited (check-in or time on site) in the last N days."""
    return derive.unvisited(session, user, days=days, community=community)


@router.get("/patrols/tracks", response_class=ORJSONResponse, response_model=FeatureCollectionPublic)
def get_tracks(
    session: SessionDep, user: CurrentUser, date: DateQuery, worker_id: Annotated[int | None, Query()] = None
) -> ORJSONResponse:
    """GeoJSON FeatureCollection: a worker's tracks (LineString per patrol) and check-ins on a day."""
    fc = derive.tracks(session, user, day=date, worker_id=worker_id or user.id)
    return ORJSONResponse(fc, media_type=GEOJSON)


@router.get(
    "/patrols/log",
    response_model=PatrolLogPublic,
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}}, "description": "the log (format=json|md|html)"}
    },
)
def get_log(
    session: SessionDep, user: CurrentUser, date: DateQuery, worker_id: Annotated[int | None, Query()] = None,
    compound: Annotated[str | None, Query(max_length=20)] = None, format: Literal["json", "md", "html"] = "json",
) -> Any:  # fmt: skip
    """民情工作日志 of a worker or a compound (JSON, Markdown with format=md, or with format=html the printable
    A4 page a manager prints)."""
    require_role(user, "admin", "manager", "grid_worker")
    if worker_id is None and compound is None:
        worker_id = user.id
    entry = worklog.read_log(session, user, day=date, worker_id=worker_id, compound=compound)
    if format == "md":
        return PlainTextResponse(worklog.to_markdown(session, entry), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(worklog_page(worklog.log_view(session, entry)), headers={"Cache-Control": "no-cache"})
    return entry


@router.get("/must-visit", response_model=list[HouseholdPublic])
def get_must_visit(session: SessionDep, user: CurrentUser, cell: Annotated[str | None, Query(max_length=15)] = None
                   ) -> Any:  # fmt: skip
    """四必到 register: households of my cells (personal data: the cell's workers and managers only)."""
    return mustvisit.list_households(session, user, cell=cell)


@router.post("/must-visit", response_model=HouseholdPublic, status_code=201)
def post_must_visit(session: SessionDep, user: CurrentUser, body: HouseholdCreate) -> Any:
    """Register a household (visit frequency from its kind unless given)."""
    h = mustvisit.add_household(session, user, **body.model_dump())
    return mustvisit.household_public(h)


@router.get("/must-visit/today", response_model=MustVisitDay)
def get_must_visit_today(session: SessionDep, user: CurrentUser, date: Annotated[date | None, Query()] = None) -> Any:
    """The day's must-visit list: due households (visited / missed) and must-visit tickets."""
    return mustvisit.day_list(session, user, date or access.local_day(utcnow()))
