"""Reference data of the 街道 (issue 13): organizations, service resources (writes; reads stay in
api/routers/features.py), opening-hours checks, the party hierarchy, and the audit trail of every change with
revert. Thin: each route calls one function of gis/reference, which checks input and jurisdiction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PageQuery, SessionDep
from api.routers.users import admin_only, reference_writer
from api.schemas.common import LocalDatetime, error_responses
from api.schemas.reference import (
    HoursCheck,
    HoursPublic,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    PartyUnitCreate,
    PartyUnitPublic,
    PartyUnitUpdate,
    ReferenceChangePagePublic,
    ReferenceChangePublic,
    ResourceCreate,
    ResourcePublic,
    ResourceUpdate,
)
from gis.models import AdminArea, Organization, ServiceResource
from gis.reference import audit, hours, organizations, party, resources
from gis.reference.models import PartyUnit, ReferenceChange
from gis.resources import RESOURCE_TYPES, open_now

router = APIRouter(prefix="/v1", tags=["reference"], responses=error_responses(401, 403, 404, 409, 422))
writers = [Depends(reference_writer)]
admins = [Depends(admin_only)]


# --- organizations --------------------------------------------------------------------------------------


def organization_out(session: Session, org: Organization) -> dict[str, Any]:
    return {
        "code": org.code,
        "name": org.name,
        "kind": org.kind,
        "kind_label": organizations.ORG_KIND_LABELS.get(org.kind, org.kind),
        "unit_type": org.unit_type,
        "phone": org.phone,
        "address": org.address,
        "service_area": list(org.service_area or []),
        "is_active": org.is_active,
        "categories": organizations.categories_of(org),
        "compounds": organizations.compounds_of(session, org) if org.kind == "property_company" else [],
    }


@router.get("/organizations", response_model=list[OrganizationPublic], dependencies=writers)
def list_organizations(
    session: SessionDep,
    kind: Annotated[str | None, Query(description="department, property_company, social_org …")] = None,
) -> list[dict[str, Any]]:
    """Departments with the ticket categories routed to them, property companies with their compounds."""
    return [organization_out(session, o) for o in organizations.list_organizations(session, kind=kind)]


@router.post(
    "/organizations", status_code=status.HTTP_201_CREATED, response_model=OrganizationPublic, dependencies=admins
)
def create_organization(body: OrganizationCreate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """A new organization (admin)."""
    return organization_out(session, organizations.create_organization(session, actor=user, **body.model_dump()))


@router.get("/organizations/{code}", response_model=OrganizationPublic, dependencies=writers)
def get_organization(code: str, session: SessionDep) -> dict[str, Any]:
    return organization_out(session, organizations.get_organization(session, code))


@router.patch("/organizations/{code}", response_model=OrganizationPublic, dependencies=admins)
def update_organization(code: str, body: OrganizationUpdate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Change an organization (admin); only the fields sent."""
    org = organizations.update_organization(session, code, body.model_dump(exclude_unset=True), actor=user)
    return organization_out(session, org)


@router.post("/organizations/{code}/disable", response_model=OrganizationPublic, dependencies=admins)
def disable_organization(code: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """No ticket is routed to a disabled organization."""
    return organization_out(session, organizations.set_organization_active(session, code, active=False, actor=user))


@router.post("/organizations/{code}/enable", response_model=OrganizationPublic, dependencies=admins)
def enable_organization(code: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return organization_out(session, organizations.set_organization_active(session, code, active=True, actor=user))


# --- service resources (writes) -------------------------------------------------------------------------


def resource_out(session: Session, r: ServiceResource) -> dict[str, Any]:
    lon, lat = resources.lonlat(session, r)
    area = session.get(AdminArea, r.community_id) if r.community_id else None
    return {
        "code": r.code,
        "type": r.type,
        "type_label": RESOURCE_TYPES.get(r.type, r.type),
        "name": r.name,
        "lon": lon,
        "lat": lat,
        "address": r.address,
        "phone": r.phone,
        "opening_hours": r.osm_hours,
        "hours_text": r.opening_hours,
        "open_now": open_now(r.osm_hours, r.hours),
        "features": list(r.features or []),
        "community_code": area.code if area else None,
        "cell_code": r.cell_code,
    }


@router.post("/resources", status_code=status.HTTP_201_CREATED, response_model=ResourcePublic, dependencies=writers)
def create_resource(body: ResourceCreate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """A new service resource at a point inside the 街道; hours in OpenStreetMap `opening_hours` syntax."""
    return resource_out(session, resources.create_resource(session, actor=user, **body.model_dump()))


@router.patch("/resources/{code}", response_model=ResourcePublic, dependencies=writers)
def update_resource(code: str, body: ResourceUpdate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Change a resource; only the fields sent (lon and lat together)."""
    changed = resources.update_resource(session, code, body.model_dump(exclude_unset=True), actor=user)
    return resource_out(session, changed)


@router.delete("/resources/{code}", status_code=status.HTTP_204_NO_CONTENT, dependencies=writers)
def delete_resource(code: str, session: SessionDep, user: CurrentUser) -> None:
    """Take a resource off the map (an admin can restore it from the audit trail)."""
    resources.delete_resource(session, code, actor=user)


@router.post("/opening-hours/check", response_model=HoursPublic)
def check_hours(body: HoursCheck) -> dict[str, Any]:
    """Parse hours in OpenStreetMap syntax: the Chinese reading, open at `at` (default now), the weekly spans;
    422 saying where the expression stops parsing."""
    expr = hours.parse(body.opening_hours)
    return {
        "opening_hours": expr,
        "description": hours.describe(expr),
        "open_now": hours.is_open(expr, body.at),
        "weekly": hours.weekly_spans(expr),
    }


# --- the party hierarchy --------------------------------------------------------------------------------


def party_out(session: Session, unit: PartyUnit) -> dict[str, Any]:
    parent = session.get(PartyUnit, unit.parent_id) if unit.parent_id else None
    out = {k: getattr(unit, k) for k in PartyUnitPublic.model_fields if k != "parent"}
    return {**out, "parent": parent.code if parent else None}


@router.get("/party-units", response_model=list[PartyUnitPublic], dependencies=writers)
def list_party_units(
    session: SessionDep, user: CurrentUser, community: Annotated[str | None, Query(max_length=20)] = None
) -> list[dict[str, Any]]:
    """社区党组织 › 小区党支部 › 楼栋党小组 › 党员中心户 of your communities, top-down."""
    return [party_out(session, u) for u in party.party_units(session, actor=user, community=community)]


@router.post("/party-units", status_code=status.HTTP_201_CREATED, response_model=PartyUnitPublic, dependencies=writers)
def create_party_unit(body: PartyUnitCreate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return party_out(session, party.create_party_unit(session, actor=user, **body.model_dump()))


@router.patch("/party-units/{code}", response_model=PartyUnitPublic, dependencies=writers)
def update_party_unit(code: str, body: PartyUnitUpdate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    unit = party.update_party_unit(session, code, body.model_dump(exclude_unset=True), actor=user)
    return party_out(session, unit)


@router.post("/party-units/{code}/disable", response_model=PartyUnitPublic, dependencies=writers)
def disable_party_unit(code: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return party_out(session, party.set_party_unit_active(session, code, active=False, actor=user))


@router.post("/party-units/{code}/enable", response_model=PartyUnitPublic, dependencies=writers)
def enable_party_unit(code: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return party_out(session, party.set_party_unit_active(session, code, active=True, actor=user))


# --- the audit trail (admin) ----------------------------------------------------------------------------

audit_router = APIRouter(
    prefix="/v1/audit",
    tags=["audit"],
    dependencies=[Depends(admin_only)],
    responses=error_responses(401, 403, 404, 409, 422),
)


@audit_router.get("/reference-changes", response_model=ReferenceChangePagePublic)
def reference_changes(
    session: SessionDep,
    page: PageQuery,
    table: Annotated[str | None, Query(description=f"one of {', '.join(audit.SPECS)}")] = None,
    key: Annotated[str | None, Query(max_length=120, description="object code (cell_staff: cell:username)")] = None,
    user: Annotated[str | None, Query(max_length=60, description="username of who changed it")] = None,
    community: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[LocalDatetime | None, Query(description="changes at or after this time")] = None,
    until: Annotated[LocalDatetime | None, Query(description="changes before this time")] = None,
) -> dict[str, Any]:
    """Every change to reference data (who, when, object, before/after), newest first; filters, paged."""
    matched, rows = audit.changes(
        session, table=table, key=key, username=user, community=community, since=since, until=until,
        limit=page.limit, offset=page.offset,
    )  # fmt: skip
    items = [ReferenceChangePublic.model_validate(r) for r in rows]
    return {"items": items, "numberMatched": matched, "numberReturned": len(items)}


@audit_router.post("/reference-changes/{change_id}/revert", response_model=ReferenceChangePublic)
def revert_change(change_id: int, session: SessionDep, user: CurrentUser) -> ReferenceChange:
    """Undo one change (409 when the object changed again since: revert the later change first)."""
    return audit.revert(session, change_id, actor=user)
