"""Buildings (楼栋) as reference data: name, households and floors of an existing building (footprints come from
boundary imports and plans). The party fields (楼栋党小组长, 党员中心户) are written by gis/reference/party.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import NotFound
from gis.models import Building, User
from gis.reference import audit, checks

BUILDING_FIELDS = ("name", "households", "floors")


def get_building(session: Session, code: str, *, actor: User) -> Building:
    """A building `actor` may edit (managers: in their communities)."""
    building = session.scalar(select(Building).where(Building.code == code))
    if building is None:
        raise NotFound(f"没有楼栋 {code!r} / no building {code!r}")
    checks.ensure_community(session, actor, building.compound.community.code, "楼栋 / buildings")
    return building


def update_building(session: Session, code: str, changes: dict[str, Any], *, actor: User) -> Building:
    """Change a building's name (unique within its compound), households or floors."""
    unknown = sorted(set(changes) - set(BUILDING_FIELDS))
    if unknown:
        raise checks.bad(unknown[0], f"不能修改的字段 {unknown} / fields that cannot be changed: {unknown}")
    building = get_building(session, code, actor=actor)
    before = audit.snapshot(session, "buildings", building)
    if "name" in changes:
        name = checks.text(changes["name"], "name", max_len=40, required=True) or building.name
        clash = session.scalar(
            select(Building.code).where(
                Building.compound_id == building.compound_id, Building.name == name, Building.id != building.id
            )
        )
        if clash is not None:
            raise checks.bad(
                "name", f"本小区已有楼栋叫 {name}（{clash}） / the compound has a building {name!r} already"
            )
        building.name = name
    if "households" in changes:
        building.households = checks.count(changes["households"], "households", maximum=100_000) or 0
    if "floors" in changes:
        building.floors = checks.count(changes["floors"], "floors", maximum=200)
    audit.record(
        session, actor, "buildings", building, action="update", before=before,
        community_code=building.compound.community.code,
    )  # fmt: skip
    return building
