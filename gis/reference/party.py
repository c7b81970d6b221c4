"""The party hierarchy (T1, 党建引领): 社区党组织 › 小区党支部 › 楼栋党小组 › 党员中心户, attached to the community,
compound and building they organise.

The free-text party fields the maps, locate and the feature layers already show (`AdminArea.party_org` /
`secretary`, `Compound.party_branch`, `Building.party_group_leader` / `party_member_households`) are kept in
step with the hierarchy on every write (and revert), so those readers need no change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound
from gis.models import AdminArea, Building, Compound, User
from gis.reference import audit, checks
from gis.reference.models import PARTY_KINDS, PartyUnit

KIND_LABELS = {
    "community_org": "社区党组织",
    "compound_branch": "小区党支部",
    "building_group": "楼栋党小组",
    "member_household": "党员中心户",
}
PARENT_KIND = {
    "compound_branch": "community_org",
    "building_group": "compound_branch",
    "member_household": "building_group",
}
PARTY_FIELDS = ("name", "leader", "phone", "members")


def get_party_unit(session: Session, code: str, *, actor: User) -> PartyUnit:
    unit = session.scalar(select(PartyUnit).where(PartyUnit.code == code))
    if unit is None:
        raise NotFound(f"没有党组织 {code!r} / no party unit {code!r}")
    checks.ensure_community(session, actor, unit.community_code, "党组织 / party units")
    return unit


def _building(session: Session, code: str | None) -> Building:
    row = session.scalar(select(Building).where(Building.code == (code or "")))
    if row is None:
        raise checks.bad("building", f"未知的楼栋编码 {code!r} / unknown building {code!r}: see GET /v1/buildings")
    return row


def sync(session: Session, unit: PartyUnit) -> None:
    """Copy the hierarchy into the free-text party fields the existing readers show."""
    if unit.kind == "community_org":
        area = session.scalar(select(AdminArea).where(AdminArea.code == unit.community_code))
        if area is not None:
            area.party_org = unit.name if unit.is_active else None
            area.secretary = unit.leader if unit.is_active else None
    elif unit.kind == "compound_branch" and unit.compound_code:
        compound = session.scalar(select(Compound).where(Compound.code == unit.compound_code))
        if compound is not None:
            compound.party_branch = unit.name if unit.is_active else None
    elif unit.building_code:
        building = session.scalar(select(Building).where(Building.code == unit.building_code))
        if building is None:
            return
        if unit.kind == "building_group":
            building.party_group_leader = unit.leader if unit.is_active else None
        else:
            session.flush()
            building.party_member_households = list(
                session.scalars(
                    select(PartyUnit.name)
                    .where(
                        PartyUnit.kind == "member_household",
                        PartyUnit.building_code == unit.building_code,
                        PartyUnit.is_active,
                    )
                    .order_by(PartyUnit.code)
                )
            )
    session.flush()


@audit.on_revert
def _resync(session: Session, table: str, obj: Any) -> None:
    if table == "party_units" and obj is not None and obj in session:
        sync(session, obj)


def create_party_unit(
    session: Session,
    *,
    actor: User,
    kind: str,
    name: str,
    parent: str | None = None,
    community: str | None = None,
    compound: str | None = None,
    building: str | None = None,
    leader: str | None = None,
    phone: str | None = None,
    members: int | None = None,
    code: str | None = None,
) -> PartyUnit:
    """A unit of the hierarchy. A 社区党组织 names its community; a 小区党支部 its compound (under the
    community's 党组织); a 楼栋党小组 its building (under the compound's 党支部); a 党员中心户 its 党小组 (parent)."""
    checks.require_writer(actor, "党组织 / party units")
    if kind not in PARTY_KINDS:
        raise checks.bad("kind", f"未知的党组织层级 {kind!r}，可选 {', '.join(PARTY_KINDS)} / unknown kind {kind!r}")
    up: PartyUnit | None = None
    if kind == "community_org":
        area = checks.community(session, community or "", field="community")
        community_code, compound_code, building_code = area.code, None, None
        taken = session.scalar(
            select(PartyUnit.code).where(
                PartyUnit.kind == kind, PartyUnit.community_code == area.code, PartyUnit.is_active
            )
        )
        if taken is not None:
            raise Conflict(
                f"社区 {area.code} 已有社区党组织 {taken} / community {area.code} has a party organisation ({taken})"
            )
    else:
        up = session.scalar(select(PartyUnit).where(PartyUnit.code == (parent or "")))
        if up is None or up.kind != PARENT_KIND[kind]:
            raise checks.bad(
                "parent",
                f"{KIND_LABELS[kind]}须挂在一个{KIND_LABELS[PARENT_KIND[kind]]}下（parent 填其编码） / "
                f"a {kind} needs a "
                f"parent {PARENT_KIND[kind]} (its code): {parent!r} is not one",
            )
        community_code, compound_code, building_code = up.community_code, up.compound_code, up.building_code
        if kind == "compound_branch":
            place = checks.compound(session, compound or "", field="compound")
            if place.community.code != up.community_code:
                raise checks.bad(
                    "compound",
                    f"小区 {place.code} 不在社区 {up.community_code} / compound {place.code} is not in that community",
                )
            compound_code = place.code
        elif kind == "building_group":
            b = _building(session, building)
            if b.compound.code != up.compound_code:
                raise checks.bad(
                    "building", f"楼栋 {b.code} 不在小区 {up.compound_code} / building {b.code} is not in that compound"
                )
            building_code = b.code
    checks.ensure_community(session, actor, community_code, "党组织 / party units")
    if code and session.scalar(select(PartyUnit.id).where(PartyUnit.code == code)) is not None:
        raise Conflict(f"党组织编码 {code!r} 已存在 / party unit code {code!r} is taken", detail={"field": "code"})
    if not code:
        n = (
            session.scalar(
                select(func.count()).select_from(PartyUnit).where(PartyUnit.community_code == community_code)
            )
            or 0
        ) + 1
        while session.scalar(select(PartyUnit.id).where(PartyUnit.code == f"{community_code}-P{n:04d}")) is not None:
            n += 1
        code = f"{community_code}-P{n:04d}"
    unit = PartyUnit(
        code=code,
        kind=kind,
        name=checks.text(name, "name", max_len=120, required=True),
        parent_id=up.id if up else None,
        community_code=community_code,
        compound_code=compound_code,
        building_code=building_code,
        leader=checks.text(leader, "leader", max_len=40),
        phone=checks.phone(phone),
        members=checks.count(members, "members", maximum=100_000),
    )
    session.add(unit)
    session.flush()
    sync(session, unit)
    audit.record(session, actor, "party_units", unit, action="create", before=None, community_code=community_code)
    return unit


def update_party_unit(session: Session, code: str, changes: dict[str, Any], *, actor: User) -> PartyUnit:
    """Change a unit's name, leader (书记 / 小组长), phone or member count."""
    unknown = sorted(set(changes) - set(PARTY_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed: {unknown}")
    unit = get_party_unit(session, code, actor=actor)
    before = audit.snapshot(session, "party_units", unit)
    if "name" in changes:
        unit.name = checks.text(changes["name"], "name", max_len=120, required=True) or unit.name
    if "leader" in changes:
        unit.leader = checks.text(changes["leader"], "leader", max_len=40)
    if "phone" in changes:
        unit.phone = checks.phone(changes["phone"])
    if "members" in changes:
        unit.members = checks.count(changes["members"], "members", maximum=100_000)
    sync(session, unit)
    audit.record(
        session, actor, "party_units", unit, action="update", before=before, community_code=unit.community_code
    )
    return unit


def set_party_unit_active(session: Session, code: str, *, active: bool, actor: User) -> PartyUnit:
    """Dissolve (disable) or restore a unit; a unit with active children is not dissolved."""
    unit = get_party_unit(session, code, actor=actor)
    if not active:
        child = session.scalar(
            select(PartyUnit.code).where(PartyUnit.parent_id == unit.id, PartyUnit.is_active).limit(1)
        )
        if child is not None:
            raise Conflict(
                f"{unit.name} 下还有 {child}，请先撤销下级 / {code} still has active units under it ({child})"
            )
    before = audit.snapshot(session, "party_units", unit)
    if unit.is_active != active:
        unit.is_active = active
        sync(session, unit)
        audit.record(
            session, actor, "party_units", unit, action="enable" if active else "disable", before=before,
            community_code=unit.community_code,
        )  # fmt: skip
    return unit


def party_units(session: Session, *, actor: User, community: str | None = None) -> list[PartyUnit]:
    """The units `actor` may manage (in tree order: by community, kind level, code)."""
    checks.require_writer(actor, "党组织 / party units")
    stmt = select(PartyUnit).where(checks.in_scope_filter(session, actor, PartyUnit.community_code))
    if community is not None:
        stmt = stmt.where(PartyUnit.community_code == community)
    level = {k: i for i, k in enumerate(PARTY_KINDS)}
    rows = list(session.scalars(stmt.order_by(PartyUnit.community_code, PartyUnit.code)))
    return sorted(rows, key=lambda u: (u.community_code, level[u.kind], u.code))
