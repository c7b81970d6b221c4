"""Boundary plans (网格规划): draft, import, validate, diff, operations, commit, history, export.

Reads need a planner, admin or manager (a manager reads only the plans touching their communities); writes a
planner or admin: each route carries its check (`READ_PLAN` / `WRITE`; the lists take a `Reader` and filter),
and a handler asks for the user only when it records who did it. Nothing touches live cells until commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Path, Query, Request, Response, UploadFile, status
from fastapi.responses import HTMLResponse

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas.common import FeatureCollectionPublic, error_responses
from api.schemas.plans import (
    AreaUpdate,
    CommitCreate,
    CommitPublic,
    CommitReportPublic,
    CommunityCreate,
    DiffMapPublic,
    DiffPublic,
    GenerateCreate,
    ImportJobPublic,
    ImportReportPublic,
    MergeCreate,
    NextCodesPublic,
    OperationPublic,
    PlanCreate,
    PlanPublic,
    RepairCreate,
    RepairPublic,
    ReshapeCreate,
    SplitCreate,
    ValidationPublic,
)
from gis import access
from gis.auth import require_role
from gis.errors import InvalidInput
from gis.models import User
from gis.plans import ops
from gis.plans.catalog import create_plan, list_plans, plan_summary, readable_plan
from gis.plans.commit import commit_plan, history
from gis.plans.diff import diff_geojson, plan_diff
from gis.plans.draft import FeatureInput, editable_plan, ensure_base, get_plan, next_codes
from gis.plans.edits import put_features, remove_feature, revert_feature
from gis.plans.export import export_plan, plan_features
from gis.plans.geo import geometry_from_geojson
from gis.plans.imports import job_status, list_jobs, run_import, start_import
from gis.plans.imports_sync import import_file
from gis.plans.ops import repair
from gis.plans.read import FORMATS, Limits
from gis.plans.validate import Rules, validate_plan
from gis.plans.write import MEDIA_TYPES
from maps.basemaps import basemap_from_settings
from maps.plan_editor import plan_editor_page

V1 = "/v1/plans"
ERRORS = error_responses(
    401,
    403,
    404,
    409,
    422,
    descriptions={
        409: "plan already committed, or live cells changed since it started",
        422: "bad input or validation errors (detail lists them)",
    },
)
router = APIRouter(tags=["plans"], responses=ERRORS)
READERS = access.PLAN_READERS
WRITERS = access.PLAN_WRITERS


def reader(user: CurrentUser) -> User:
    require_role(user, *READERS)
    return user


def writer(user: CurrentUser) -> User:
    require_role(user, *WRITERS)
    return user


PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="plan id")]
Writer = Annotated[User, Depends(writer)]  # the writer, for handlers that record who did it
Reader = Annotated[User, Depends(reader)]


def plan_reader(plan_id: PlanId, session: SessionDep, user: Reader) -> None:
    """A reader of this plan: a manager reads only the plans touching their communities (404 otherwise)."""
    readable_plan(session, user, plan_id)


READ_PLAN = [Depends(plan_reader)]  # reads of one plan
WRITE = [Depends(writer)]


def rules_query(
    sliver_m2: Annotated[float, Query(ge=0, le=10_000, description="gaps/overlaps under this are slivers")] = 10.0,
    households_min: Annotated[int | None, Query(ge=0, description="households band, lower bound")] = 200,
    households_max: Annotated[int | None, Query(ge=0, description="households band, upper bound")] = 300,
) -> Rules:
    return Rules(sliver_m2=sliver_m2, households_min=households_min, households_max=households_max)


RulesQuery = Annotated[Rules, Depends(rules_query)]


@router.post(V1, status_code=status.HTTP_201_CREATED, response_model=PlanPublic, dependencies=WRITE)
def post_plan(body: PlanCreate, session: SessionDep, user: Writer) -> dict[str, Any]:
    """Start a draft plan (规划草案)."""
    plan = create_plan(session, name=body.name, description=body.description, user_id=user.id)
    return plan_summary(session, plan)


@router.get(V1, response_model=list[PlanPublic])
def get_plans(
    session: SessionDep, user: Reader, status: Literal["draft", "committed", "abandoned"] | None = None
) -> list[dict[str, Any]]:
    """The plans you may read (a manager: those touching their communities)."""
    return list_plans(session, user=user, status=status)


@router.get(V1 + "/history", response_model=list[CommitPublic])
def get_history(
    session: SessionDep, user: Reader, community: Annotated[str | None, Query(max_length=20)] = None
) -> list[dict[str, Any]]:
    """Commits, newest first, with what each changed and moved (a manager: those touching their communities).
    Past versions stay queryable with GET /v1/locate?at=… and GET /v1/cells?at=…."""
    return history(session, community_code=community, communities=access.community_codes(session, user))


@router.get(V1 + "/{plan_id}", response_model=PlanPublic, dependencies=READ_PLAN)
def get_one(plan_id: PlanId, session: SessionDep) -> dict[str, Any]:
    return plan_summary(session, get_plan(session, plan_id))


Layer = Literal["cell", "compound", "community"]


@dataclass(frozen=True)
class ImportForm:
    """The fields of an import upload, read and checked (the file's bytes up to the size limit + 1)."""

    data: bytes
    filename: str
    options: dict[str, Any]  # layer, mode, crs, mapping
    limits: Limits


def import_form(
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description=".geojson, .gpkg, zipped Shapefile (.zip), .csv with WKT, or a .csv/.xlsx attribute table"),
    ],
    crs: Annotated[str | None, Form(description="EPSG:4326, EPSG:4490, EPSG:4526…4554, gcj02, bd09")] = None,
    layer: Annotated[Layer, Form(description="what the file holds: cells (网格), compounds (小区) or communities")] = (
        "cell"
    ),
    mode: Annotated[Literal["replace", "merge"], Form()] = "replace",
    mapping: Annotated[str | None, Form(description='JSON, e.g. {"code": "WGBM", "households": "HS"}')] = None,
) -> ImportForm:
    try:
        fields = json.loads(mapping) if mapping else None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"mapping 不是合法的 JSON / mapping must be a JSON object: {exc}") from exc
    if fields is not None and not isinstance(fields, dict):
        raise InvalidInput('mapping must be a JSON object of field -> column name, e.g. {"code": "WGBM"}')
    caps = settings.limits
    limits = Limits(max_bytes=max(caps.max_upload_bytes, caps.max_body_bytes), max_vertices=caps.max_geometry_vertices)
    return ImportForm(
        file.file.read(limits.max_bytes + 1),
        file.filename or "",
        {"layer": layer, "mode": mode, "crs": crs, "mapping": fields},
        limits,
    )


Upload = Annotated[ImportForm, Depends(import_form)]
AreaLayer = Annotated[Literal["compound", "community"], Path(description="compound (小区) or community (社区)")]
AreaCode = Annotated[str, Path(min_length=1, max_length=20)]


@router.post(V1 + "/{plan_id}/import", response_model=ImportReportPublic, dependencies=WRITE)
def post_import(plan_id: PlanId, session: SessionDep, form: Upload) -> dict[str, Any]:
    """Import cells, compounds or communities into the draft (never into live tables), answering when done.
    `replace`: the file holds every cell (compound) of the communities it touches; `merge`: only the features
    in the file change. For large files use POST …/imports (progress)."""
    return import_file(session, plan_id, form.data, form.filename, limits=form.limits, **form.options)


@router.post(
    V1 + "/{plan_id}/imports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobPublic,
    dependencies=WRITE,
)
def post_import_job(
    plan_id: PlanId, request: Request, background: BackgroundTasks, session: SessionDep, user: Writer, form: Upload
) -> dict[str, Any]:
    """Start an import in the background (same fields as …/import) and answer 202 at once; poll `status_url`
    for the stage and progress (done of total), then the report or the error."""
    job = start_import(session, plan_id, form.data, form.filename, form.options, user_id=user.id, limits=form.limits)
    session.commit()  # the job must be visible before the background task looks for it
    background.add_task(run_import, request.app.state.sessions, job.id, form.limits)
    return job_status(session, plan_id, job.id)


@router.post(V1 + "/{plan_id}/communities", response_model=PlanPublic, dependencies=WRITE)
def post_community(plan_id: PlanId, body: CommunityCreate, session: SessionDep) -> dict[str, Any]:
    """Start drawing on a community: its live cells enter the draft (unchanged until edited), and the
    plan is locked to their current versions."""
    plan = editable_plan(session, plan_id)
    ensure_base(session, plan, body.code)
    return plan_summary(session, plan)


@router.get(V1 + "/{plan_id}/next-codes", response_model=NextCodesPublic, dependencies=READ_PLAN)
def get_next_codes(
    plan_id: PlanId,
    session: SessionDep,
    community: Annotated[str, Query(pattern=r"^[0-9]{12}$", description="12-digit community code")],
    n: Annotated[int, Query(ge=1, le=50)] = 1,
) -> dict[str, Any]:
    """Fresh cell codes for new cells of a community: never a code used by a live or retired cell, or the plan."""
    return {"community": community, "codes": next_codes(session, get_plan(session, plan_id), community, n)}


@router.get(V1 + "/{plan_id}/imports", response_model=list[ImportJobPublic], dependencies=READ_PLAN)
def get_import_jobs(plan_id: PlanId, session: SessionDep) -> list[dict[str, Any]]:
    """The plan's latest imports, newest first."""
    get_plan(session, plan_id)
    return list_jobs(session, plan_id)


@router.get(V1 + "/{plan_id}/imports/{job_id}", response_model=ImportJobPublic, dependencies=READ_PLAN)
def get_import_job(
    plan_id: PlanId, job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> dict[str, Any]:
    """One import: queued → running (stage, done, total) → done (report) or failed (error)."""
    return job_status(session, plan_id, job_id)


@router.get(V1 + "/{plan_id}/features", response_model=FeatureCollectionPublic, dependencies=READ_PLAN)
def get_features(
    plan_id: PlanId,
    session: SessionDep,
    scope: Literal["plan", "draft"] = "plan",
    layer: Layer = "cell",
) -> dict[str, Any]:
    """GeoJSON of the plan's changed features (`plan`) or of every feature of its communities as drafted
    (`draft`): cells, compounds or communities."""
    return plan_features(session, get_plan(session, plan_id), scope=scope, layer=layer)


@router.put(V1 + "/{plan_id}/areas/{layer}/{code}", response_model=OperationPublic, dependencies=WRITE)
def put_area(
    plan_id: PlanId, layer: AreaLayer, code: AreaCode, body: AreaUpdate, session: SessionDep
) -> dict[str, Any]:
    """Add or redraw a compound (小区) or community (社区) in the draft; without geometry only the attributes
    change."""
    plan = editable_plan(session, plan_id)
    geom = None if body.geometry is None else geometry_from_geojson(body.geometry, what=f"{layer} {code}")
    put_features(session, plan, layer, [FeatureInput(code, geom, body.name, body.attributes, body.community_code)])
    return {"plan_id": plan_id, "operation": "put", "codes": [code]}


@router.delete(V1 + "/{plan_id}/areas/{layer}/{code}", response_model=OperationPublic, dependencies=WRITE)
def delete_area(plan_id: PlanId, layer: AreaLayer, code: AreaCode, session: SessionDep) -> dict[str, Any]:
    """Remove a compound in the draft (validation refuses it while the compound still has buildings)."""
    remove_feature(session, editable_plan(session, plan_id), layer, code)
    return {"plan_id": plan_id, "operation": "remove", "codes": [], "removed": [code]}


@router.post(V1 + "/{plan_id}/areas/{layer}/{code}/revert", response_model=OperationPublic, dependencies=WRITE)
def post_revert_area(plan_id: PlanId, layer: AreaLayer, code: AreaCode, session: SessionDep) -> dict[str, Any]:
    """Forget the plan's change to one compound or community."""
    revert_feature(session, editable_plan(session, plan_id), layer, code)
    return {"plan_id": plan_id, "operation": "revert", "codes": [code]}


@router.delete(V1 + "/{plan_id}/features/{code}", response_model=OperationPublic, dependencies=WRITE)
def delete_feature(plan_id: PlanId, code: str, session: SessionDep) -> dict[str, Any]:
    """Remove a cell in the draft (its area must then be given to neighbours)."""
    remove_feature(session, editable_plan(session, plan_id), "cell", code)
    return {"plan_id": plan_id, "operation": "remove", "codes": [], "removed": [code]}


@router.post(V1 + "/{plan_id}/features/{code}/revert", response_model=OperationPublic, dependencies=WRITE)
def post_revert(plan_id: PlanId, code: str, session: SessionDep) -> dict[str, Any]:
    """Forget the plan's change to one cell (back to the live version)."""
    revert_feature(session, editable_plan(session, plan_id), "cell", code)
    return {"plan_id": plan_id, "operation": "revert", "codes": [code]}


@router.post(V1 + "/{plan_id}/validate", response_model=ValidationPublic, dependencies=READ_PLAN)
def post_validate(plan_id: PlanId, session: SessionDep, rules: RulesQuery) -> dict[str, Any]:
    """Problems as GeoJSON for the map (gaps, overlaps, slivers, invalid rings, codes, compounds, households);
    `summary.ok` is false when an error would block the commit."""
    return validate_plan(session, get_plan(session, plan_id), rules)


@router.post(V1 + "/{plan_id}/repair", response_model=RepairPublic, dependencies=WRITE)
def post_repair(plan_id: PlanId, body: RepairCreate, session: SessionDep) -> dict[str, Any]:
    """Apply make_valid to invalid cells of the draft."""
    return repair(session, plan_id, body.codes)


@router.get(V1 + "/{plan_id}/diff", response_model=DiffPublic, dependencies=READ_PLAN)
def get_diff(plan_id: PlanId, session: SessionDep) -> dict[str, Any]:
    """Per cell: added / removed / reshaped / attributes, area change, tickets and resources that would move."""
    return plan_diff(session, get_plan(session, plan_id))


@router.get(V1 + "/{plan_id}/diff.geojson", response_model=DiffMapPublic, dependencies=READ_PLAN)
def get_diff_geojson(plan_id: PlanId, session: SessionDep) -> dict[str, Any]:
    """Live and draft cells with change flags and moved counts (the diff map's data)."""
    return diff_geojson(session, get_plan(session, plan_id))


@router.post(V1 + "/{plan_id}/split", response_model=OperationPublic, dependencies=WRITE)
def post_split(plan_id: PlanId, body: SplitCreate, session: SessionDep) -> dict[str, Any]:
    """Split a cell by a line, or into `parts` cells of similar households."""
    if (body.line is None) == (body.parts is None):
        raise InvalidInput("give either `line` (GeoJSON LineString) or `parts` (k), not both")
    if body.line is not None:
        return ops.split_by_line(session, plan_id, body.code, body.line)
    return ops.split_by_households(session, plan_id, body.code, body.parts or 2)


@router.post(V1 + "/{plan_id}/merge", response_model=OperationPublic, dependencies=WRITE)
def post_merge(plan_id: PlanId, body: MergeCreate, session: SessionDep) -> dict[str, Any]:
    """Merge neighbouring cells into the first one."""
    return ops.merge(session, plan_id, body.codes)


@router.post(V1 + "/{plan_id}/reshape", response_model=OperationPublic, dependencies=WRITE)
def post_reshape(plan_id: PlanId, body: ReshapeCreate, session: SessionDep) -> dict[str, Any]:
    """Replace a cell's geometry (and cut it out of its neighbours)."""
    return ops.reshape(
        session,
        plan_id,
        body.code,
        body.geometry,
        fit_neighbours=body.fit_neighbours,
        name=body.name,
        households=body.households,
    )


@router.post(V1 + "/{plan_id}/generate", response_model=OperationPublic, dependencies=WRITE)
def post_generate(plan_id: PlanId, body: GenerateCreate, session: SessionDep) -> dict[str, Any]:
    """Redraw a community as cells of balanced households from its buildings (compounds kept whole where
    possible)."""
    return ops.generate(session, plan_id, body.community_code, body.households_min, body.households_max)


@router.post(V1 + "/{plan_id}/commit", response_model=CommitReportPublic, dependencies=WRITE)
def post_commit(plan_id: PlanId, body: CommitCreate, session: SessionDep, user: Writer, rules: RulesQuery) -> Any:
    """Make the plan live in one transaction and re-anchor what moved; returns the report.
    409 if another commit changed the same communities since the plan started."""
    return commit_plan(session, plan_id, message=body.message, user_id=user.id, rules=rules)


EXPORT_CONTENT: dict[str, Any] = {media: {} for media in MEDIA_TYPES.values()}
EXPORT_CONTENT[MEDIA_TYPES["geojson"]] = {"schema": {"$ref": "#/components/schemas/FeatureCollectionPublic"}}


@router.get(
    V1 + "/{plan_id}/export",
    response_class=Response,
    responses={200: {"content": EXPORT_CONTENT, "description": "the file (Content-Disposition)"}},
    dependencies=READ_PLAN,
)
def get_export(
    plan_id: PlanId,
    session: SessionDep,
    format: Literal["geojson", "gpkg", "shp", "csv", "xlsx"] = "geojson",
    scope: Literal["plan", "draft"] = "draft",
    layer: Layer = "cell",
) -> Response:
    """The draft (or only the changes) of cells, compounds or communities as GeoJSON, GeoPackage, zipped
    Shapefile, CSV with WKT, or an Excel table of attributes."""
    data = export_plan(session, get_plan(session, plan_id), format, scope=scope, layer=layer)
    filename = f"plan-{plan_id}-{layer}s-{scope}{FORMATS[format]}"
    return Response(
        data, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/plans/{plan_id}/edit", response_class=HTMLResponse, summary="plan editor page (its data needs a token)")
def editor_page(plan_id: PlanId, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Leaflet + geoman editor over the configured basemap: move vertices with snapping, split by a line, merge,
    save, live validation; compounds and communities as outlines."""
    get_plan(session, plan_id)
    basemap = basemap_from_settings(settings.maps.basemap, settings.maps.basemap_key)
    return HTMLResponse(plan_editor_page(plan_id, basemap), headers={"Cache-Control": "no-cache"})
