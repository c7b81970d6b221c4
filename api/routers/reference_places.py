"""Reference data attached to places: cell staff (网格长, 专职/兼职网格员) and compound details with the
责任公示牌 (contacts, portraits, their history). Admins everywhere, managers in their communities."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from api.deps import CurrentUser, SessionDep, SettingsDep, TicketConfigDep
from api.routers.users import reference_writer
from api.schemas.common import error_responses
from api.schemas.reference import (
    BuildingDetailPublic,
    BuildingUpdate,
    CompoundDetailPublic,
    CompoundUpdate,
    ContactsChangePublic,
    ContactSet,
    StaffAssign,
    StaffPublic,
)
from gis.models import Building, CellStaff, Compound, Organization
from gis.reference import buildings, compounds, staff

router = APIRouter(prefix="/v1", tags=["reference"], responses=error_responses(401, 403, 404, 409, 422))
# every route but the public portraits is for reference writers (admins; managers in their communities)
writers = [Depends(reference_writer)]


def staff_out(row: CellStaff) -> dict[str, Any]:
    return {
        "cell_code": row.cell_code,
        "username": row.user.username,
        "full_name": row.user.full_name,
        "duty": row.duty,
        "duty_phone": row.duty_phone,
        "employment": row.employment,
    }


@router.get("/cell-staff", response_model=list[StaffPublic], dependencies=writers)
def list_staff(
    session: SessionDep,
    user: CurrentUser,
    community: Annotated[str | None, Query(max_length=20)] = None,
    cell: Annotated[str | None, Query(max_length=15)] = None,
) -> list[dict[str, Any]]:
    """Who works which cell, in your communities (admin: the 街道)."""
    return [staff_out(r) for r in staff.list_staff(session, actor=user, community=community, cell=cell)]


@router.put("/cells/{code}/staff/{username}", response_model=StaffPublic, dependencies=writers)
def assign_staff(code: str, username: str, body: StaffAssign, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Put a person on a cell as 网格长 (manager) or 网格员 (worker, 专职 full_time / 兼职 part_time)."""
    row = staff.assign_staff(session, actor=user, cell_code=code, username=username, **body.model_dump())
    return staff_out(row)


@router.delete("/cells/{code}/staff/{username}", status_code=204, dependencies=writers)
def remove_staff(code: str, username: str, session: SessionDep, user: CurrentUser) -> None:
    staff.remove_staff(session, actor=user, cell_code=code, username=username)


def compound_out(session: Session, c: Compound) -> dict[str, Any]:
    org = session.get(Organization, c.property_company_id) if c.property_company_id else None
    by_duty = {p.get("duty"): p for p in c.contacts or []}
    return {
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "address": c.address,
        "community_code": c.community.code,
        "cell_code": c.cell_code,
        "households": c.households,
        "built_year": c.built_year,
        "property_company": org.code if org else None,
        "party_branch": c.party_branch,
        "wechat_group": c.wechat_group,
        "committee": c.committee,
        "contacts": [
            {"duty": d, **{k: by_duty.get(d, {}).get(k) for k in ("name", "phone", "photo_url")}}
            for d in compounds.DUTIES
        ],
    }


@router.get("/compounds/{code}/details", response_model=CompoundDetailPublic, dependencies=writers)
def get_details(code: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """A compound's editable details and its 责任公示牌 (the four duties, empty ones included)."""
    return compound_out(session, compounds.get_compound(session, code, actor=user))


@router.patch("/compounds/{code}/details", response_model=CompoundDetailPublic, dependencies=writers)
def update_details(code: str, body: CompoundUpdate, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Change kind, households, property company (code), 党支部, 微信群, 业委会/物管会 …; only the fields sent."""
    changes = body.model_dump(exclude_unset=True)
    return compound_out(session, compounds.update_compound(session, code, changes, actor=user))


@router.put("/compounds/{code}/contacts/{duty}", response_model=CompoundDetailPublic, dependencies=writers)
def set_contact(code: str, duty: str, body: ContactSet, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Who holds a duty of the 责任公示牌: secretary, liaison_worker, property_steward, police."""
    c = compounds.set_contact(session, code, actor=user, duty=duty, name=body.name, phone=body.phone)
    return compound_out(session, c)


@router.delete("/compounds/{code}/contacts/{duty}", response_model=CompoundDetailPublic, dependencies=writers)
def clear_contact(code: str, duty: str, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Take a duty off the board."""
    return compound_out(session, compounds.set_contact(session, code, actor=user, duty=duty, name=None, phone=None))


@router.post("/compounds/{code}/contacts/{duty}/photo", response_model=CompoundDetailPublic, dependencies=writers)
def upload_contact_photo(
    code: str,
    duty: str,
    session: SessionDep,
    settings: SettingsDep,
    config: TicketConfigDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP portrait")],
) -> dict[str, Any]:
    """The portrait shown on the board: the same checks as ticket photos (type sniffed, size, pixels; metadata
    stripped)."""
    data = file.file.read(config.photos.max_bytes + 1)
    c = compounds.store_contact_photo(session, settings.media_dir, code, duty, data, actor=user)
    return compound_out(session, c)


@router.get("/compounds/{code}/contacts/history", response_model=list[ContactsChangePublic], dependencies=writers)
def contacts_history(code: str, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Every earlier state of the board, newest first (who changed it, when)."""
    return compounds.contacts_history(session, code, actor=user)


@router.get("/contact-photos/{name}", response_class=FileResponse)
def contact_photo(name: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """A portrait shown on some compound's board (public, like the board)."""
    path = compounds.published_photo(session, settings.media_dir, name)
    media = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[path.suffix.lstrip(".")]
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.patch("/buildings/{code}/details", response_model=BuildingDetailPublic, dependencies=writers)
def update_building(code: str, body: BuildingUpdate, session: SessionDep, user: CurrentUser) -> Building:
    """Change a building's name, households or floors (the party fields: /v1/party-units)."""
    return buildings.update_building(session, code, body.model_dump(exclude_unset=True), actor=user)
