"""Jurisdiction by construction: the one place that decides what a user may read and act on.

Every rule here is a SQL filter (or a set of codes feeding one) that the queries apply, so a list, a page, a
tile and a map layer cannot disagree about who sees what.

Who reads what:
- admin, planner: the whole subdistrict (planners: no reporters' names or phones, L1).
- manager (社区 / 网格长), grid_worker (网格员): features under their codes — the jurisdiction codes of their
  account and the cells they staff (`cell_staff`, L16); tickets anchored there; managers also the plans
  touching their communities (M9).
- department (职能部门): the boundary layers (communities, cells, compounds, buildings) subdistrict-wide,
  because they work across it, but never the registers of persons (a building's party-member households and
  group leader, a compound's contact board); tickets routed to their organisation or calling it (吹哨).
- property (物业公司, H3): the compounds their company manages and those compounds' buildings, without the
  registers of persons; tickets routed to their company. Nothing else.
- resident: public layers; the tickets they reported.
- anonymous: public layers and public fields only.
Codes are hierarchical (community code + sequence), so "under a code" is a prefix test both ways: a cell's
worker sees the cell, its compounds and buildings, and the community the cell lies in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, inspect, literal, or_, select, true
from sqlalchemy.orm import Session

from gis.errors import Unauthorized
from gis.models import AdminArea, Building, CellStaff, Compound, PersonalDataRead, User

WIDE_ROLES = frozenset({"admin", "planner"})  # the whole subdistrict
AREA_ROLES = frozenset({"manager", "grid_worker"})  # their jurisdiction codes and staffed cells
ORG_ROLES = frozenset({"department", "property"})  # their organisation
DISPATCH_ROLES = frozenset({"admin", "manager"})
PLAN_READERS = ("planner", "admin", "manager")
PLAN_WRITERS = ("planner", "admin")

# Fields of a feature layer that are registers of persons: read only by the roles that answer for the place.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "buildings": frozenset({"party_group_leader", "party_member_households"}),
    "compounds": frozenset({"contacts"}),
}
PERSONAL_READERS = WIDE_ROLES | AREA_ROLES

# Who reads a ticket's reporter unmasked (name and phone: to call back); the reporter always reads their own.
REPORTER_READERS = frozenset({"admin", "manager", "grid_worker"})
REPORTER_MASKED = ORG_ROLES  # the handling unit: the name and a masked phone (138****1234)


def area_codes(session: Session, user: User) -> list[str]:
    """Jurisdiction codes of a user, plus the cells a manager or grid worker staffs (`cell_staff`)."""
    codes = set(user.jurisdiction or [])
    if user.role in AREA_ROLES:
        codes.update(session.scalars(select(CellStaff.cell_code).where(CellStaff.user_id == user.id)))
    return sorted(codes)


def under_codes(columns: tuple[Any, ...], codes: list[str]) -> ColumnElement[bool]:
    """A row is in scope when one of its codes lies under (or above) one of `codes`; nothing for no codes."""
    if not codes:
        return false()
    clauses = []
    for col in columns:
        for code in codes:
            clauses.append(col.startswith(code, autoescape=True))
            clauses.append(literal(code).startswith(col))
    return or_(*clauses)


def _company_compounds(organization_id: int | None) -> Any:
    return select(Compound.id).where(Compound.property_company_id == organization_id)


def require_user(user: User | None, what: str) -> User:
    if user is None:
        raise Unauthorized(f"需要登录 / the {what} layer requires authentication: send 'Authorization: Bearer <token>'")
    return user


def feature_filter(session: Session, user: User, layer: str, scope_columns: tuple[Any, ...]) -> ColumnElement[bool]:
    """The WHERE clause selecting the features of a non-public layer `user` may read."""
    if user.role in WIDE_ROLES or user.role == "department":
        return true()
    if user.role == "property":
        if user.organization_id is None:
            return false()
        if layer == "compounds":
            return Compound.property_company_id == user.organization_id
        if layer == "buildings":
            return Building.compound_id.in_(_company_compounds(user.organization_id))
        return false()
    if user.role in AREA_ROLES or user.role == "resident":
        return under_codes(scope_columns, area_codes(session, user))
    return false()


def hidden_fields(user: User | None, layer: str) -> frozenset[str]:
    """Properties of `layer` that `user` does not read (registers of persons)."""
    if user is not None and user.role in PERSONAL_READERS:
        return frozenset()
    return PERSONAL_FIELDS.get(layer, frozenset())


def community_codes(session: Session, user: User) -> list[str] | None:
    """Communities a user answers for (None: every one), from their codes and staffed cells."""
    if user.role in WIDE_ROLES:
        return None
    codes = area_codes(session, user) if user.role in AREA_ROLES else []
    if not codes:
        return []
    stmt = select(AdminArea.code).where(AdminArea.level == "community", under_codes((AdminArea.code,), codes))
    return sorted(session.scalars(stmt))


def mask_phone(phone: str | None) -> str | None:
    """138****1234: the first three and last four digits of a mobile; a short number keeps its last two."""
    if not phone:
        return phone
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * (len(phone) - 2) + phone[-2:]


def reporter_view(user: User, *, is_reporter: bool) -> str:
    """How `user` reads a ticket's reporter: "full", "masked" (name, masked phone) or "none"."""
    if is_reporter or user.role in REPORTER_READERS:
        return "full"
    if user.role in REPORTER_MASKED:
        return "masked"
    return "none"


def record_read(session: Session, user: User, *, subject: str, ref: str, fields: list[str]) -> None:
    """Audit a read of personal data (who, what, when); nothing when no personal field was read, or for a user
    that is not stored (a stand-in built in memory has no row to point to)."""
    if fields and not inspect(user).transient:
        session.add(PersonalDataRead(user_id=user.id, subject=subject[:20], ref=ref[:100], fields=sorted(fields)))


def personal_data_reads(
    session: Session,
    *,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[PersonalDataRead]]:
    """The audit of personal-data reads, newest first, with how many match."""
    where: list[ColumnElement[bool]] = []
    if user_id is not None:
        where.append(PersonalDataRead.user_id == user_id)
    if since is not None:
        where.append(PersonalDataRead.at >= since)
    if until is not None:
        where.append(PersonalDataRead.at < until)
    matched = session.scalar(select(func.count()).select_from(PersonalDataRead).where(*where)) or 0
    stmt = (
        select(PersonalDataRead)
        .where(*where)
        .order_by(PersonalDataRead.at.desc(), PersonalDataRead.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return matched, list(session.scalars(stmt))
