"""Organizations: departments (城管, 公安 …) with the ticket categories they handle (through their unit type,
which is what routing reads) and an optional service area; property companies with the compounds they manage.
Street-wide objects: only admins write them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import ORG_KINDS, Compound, Organization, User
from gis.reference import audit, checks
from gis.tickets.config import TicketConfig, load_config

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
ORG_KIND_LABELS = {
    "department": "职能部门",
    "property_company": "物业公司",
    "social_org": "社会组织",
    "subdistrict_office": "街道办事处",
}


def get_organization(session: Session, code: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.code == code))
    if org is None:
        raise NotFound(f"没有编码为 {code!r} 的单位 / no organization {code!r}")
    return org


def organization_by_code(session: Session, code: str | None, field: str = "organization") -> Organization | None:
    """The organization a form or a sheet names by code (None for blank): an input error when unknown."""
    if code is None or not code.strip():
        return None
    org = session.scalar(select(Organization).where(Organization.code == code.strip()))
    if org is None:
        raise checks.bad(field, f"未知的单位编码 {code!r} / unknown organization {code!r}: see GET /v1/organizations")
    return org


def categories_of(org: Organization, config: TicketConfig | None = None) -> list[str]:
    """The ticket categories routed to this organization: those of its unit type (departments) or the compound
    categories (property companies)."""
    cfg = config or load_config()
    if org.kind == "property_company":
        return [c.code for c in cfg.categories.values() if c.property]
    if org.kind == "department" and org.unit_type:
        return [c.code for c in cfg.categories.values() if c.unit_type == org.unit_type]
    return []


def _unit_type(kind: str, unit_type: str | None, config: TicketConfig | None) -> str | None:
    if kind != "department":
        return unit_type.strip() if unit_type and unit_type.strip() else None
    cfg = config or load_config()
    known = sorted({c.unit_type for c in cfg.categories.values()} - {"community", "property"})
    if not unit_type or unit_type not in known:
        raise checks.bad(
            "unit_type",
            f"职能部门须选择单位类型（决定派给它的工单类别），可选：{'、'.join(known)} / "
            "a department needs a unit_type "
            f"(it decides which ticket categories are routed to it), one of: {', '.join(known)}",
        )
    return unit_type


def _service_area(session: Session, codes: list[str] | None) -> list[str]:
    out: list[str] = []
    for code in codes or []:
        checks.community(session, code.strip(), field="service_area")
        if code.strip() not in out:
            out.append(code.strip())
    return out


def _compounds(session: Session, org: Organization, codes: list[str] | None, actor: User) -> None:
    """Make `codes` exactly the compounds this property company manages (an audited change per compound)."""
    if codes is None:
        return
    wanted = {c.strip() for c in codes if c.strip()}
    for code in sorted(wanted):
        checks.compound(session, code, field="compounds")
    current = set(session.scalars(select(Compound.code).where(Compound.property_company_id == org.id)))
    for code in sorted(wanted ^ current):
        compound = checks.compound(session, code)
        before = audit.snapshot(session, "compounds", compound)
        compound.property_company_id = org.id if code in wanted else None
        audit.record(
            session, actor, "compounds", compound, action="update", before=before,
            community_code=compound.community.code,
        )  # fmt: skip


def create_organization(
    session: Session,
    *,
    actor: User,
    code: str,
    name: str,
    kind: str,
    unit_type: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    service_area: list[str] | None = None,
    compounds: list[str] | None = None,
    config: TicketConfig | None = None,
) -> Organization:
    """A new department, property company, social organization or subdistrict office (admin only).

    `compounds` (property companies): the codes of the compounds it manages."""
    checks.require_admin(actor, "单位 / organizations")
    if not _CODE.match(code or ""):
        raise checks.bad(
            "code", f"单位编码只能用字母、数字、-_. （最多 40 位）：{code!r} / code must be 1-40 letters, digits, -_."
        )
    if kind not in ORG_KINDS:
        raise checks.bad("kind", f"未知的单位类型 {kind!r}，可选 {', '.join(ORG_KINDS)} / unknown kind {kind!r}")
    if session.scalar(select(Organization.id).where(Organization.code == code)) is not None:
        raise Conflict(f"单位编码 {code!r} 已存在 / organization code {code!r} is taken", detail={"field": "code"})
    org = Organization(
        code=code,
        name=checks.text(name, "name", max_len=120, required=True),
        kind=kind,
        unit_type=_unit_type(kind, unit_type, config),
        phone=checks.phone(phone),
        address=checks.text(address, "address", max_len=200),
        service_area=_service_area(session, service_area),
    )
    session.add(org)
    session.flush()
    audit.record(session, actor, "organizations", org, action="create", before=None)
    if kind == "property_company":
        _compounds(session, org, compounds, actor)
    return org


ORG_FIELDS = ("name", "unit_type", "phone", "address", "service_area", "compounds")


def update_organization(
    session: Session, code: str, changes: dict[str, Any], *, actor: User, config: TicketConfig | None = None
) -> Organization:
    """Change some of an organization's fields (`changes`: any of ORG_FIELDS; absent keys stay as they are)."""
    checks.require_admin(actor, "单位 / organizations")
    unknown = sorted(set(changes) - set(ORG_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed: {unknown}")
    org = get_organization(session, code)
    before = audit.snapshot(session, "organizations", org)
    if "name" in changes:
        org.name = checks.text(changes["name"], "name", max_len=120, required=True) or org.name
    if "unit_type" in changes:
        org.unit_type = _unit_type(org.kind, changes["unit_type"], config)
    if "phone" in changes:
        org.phone = checks.phone(changes["phone"])
    if "address" in changes:
        org.address = checks.text(changes["address"], "address", max_len=200)
    if "service_area" in changes:
        org.service_area = _service_area(session, changes["service_area"])
    audit.record(session, actor, "organizations", org, action="update", before=before)
    if "compounds" in changes:
        if org.kind != "property_company":
            raise checks.bad("compounds", "只有物业公司管理小区 / only a property company manages compounds")
        _compounds(session, org, changes["compounds"], actor)
    return org


def set_organization_active(session: Session, code: str, *, active: bool, actor: User) -> Organization:
    """Disable (no ticket is routed to it any more) or re-enable an organization."""
    checks.require_admin(actor, "单位 / organizations")
    org = get_organization(session, code)
    before = audit.snapshot(session, "organizations", org)
    if org.is_active != active:
        org.is_active = active
        audit.record(session, actor, "organizations", org, action="enable" if active else "disable", before=before)
    return org


def list_organizations(session: Session, *, kind: str | None = None) -> list[Organization]:
    stmt = select(Organization).order_by(Organization.kind, Organization.code)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    return list(session.scalars(stmt))


def compounds_of(session: Session, org: Organization) -> list[str]:
    return list(
        session.scalars(select(Compound.code).where(Compound.property_company_id == org.id).order_by(Compound.code))
    )
