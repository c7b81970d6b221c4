"""Write the demo 街道 (data.demo.generate_demo) into PostGIS: bulk INSERTs in the caller's transaction."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from data.demo import DEMO_PASSWORD, SUBDISTRICT_CODE, VALID_FROM, generate_demo
from gis.auth import hash_password, verify_password
from gis.errors import Conflict
from gis.models import (
    AdminArea,
    Building,
    CellStaff,
    Compound,
    GridCell,
    Organization,
    ServiceResource,
    Street,
    User,
)


def _ewkt(geom: Any) -> str:
    if isinstance(geom, Polygon) and not isinstance(geom, MultiPolygon):
        geom = MultiPolygon([geom])
    return "SRID=4326;" + str(shapely.to_wkt(geom, rounding_precision=7))


def _ewkt_line(geom: Any) -> str:
    return "SRID=4326;" + str(shapely.to_wkt(geom, rounding_precision=7))


def _ewkt_poly(geom: Polygon) -> str:
    return "SRID=4326;" + str(shapely.to_wkt(geom, rounding_precision=7))


def _pick(item: dict[str, Any], fields: str, **computed: Any) -> dict[str, Any]:
    """A table row from a generated item: the named fields as they are, plus the computed columns."""
    return {**{f: item[f] for f in fields.split()}, **computed}


def counts(session: Session) -> dict[str, int]:
    def n(model: Any) -> int:
        return session.scalar(select(func.count()).select_from(model)) or 0

    return {
        "communities": session.scalar(select(func.count()).where(AdminArea.level == "community")) or 0,
        "cells": n(GridCell),
        "compounds": n(Compound),
        "buildings": n(Building),
        "resources": n(ServiceResource),
        "streets": n(Street),
        "users": n(User),
        "organizations": n(Organization),
    }


def _purge(session: Session) -> None:
    from data.demo_participation import purge_demo_participation
    from data.demo_tickets import purge_demo_tickets
    from gis.generations.models import AdminAreaVersion, CompoundVersion
    from gis.plans.models import BoundaryPlan, PlanCommit

    purge_demo_participation(session)  # before the tickets, users and compounds it refers to
    purge_demo_tickets(session)
    # plans are drawn on the demo's cells: they go with them (plan_features/areas/imports cascade)
    session.execute(delete(PlanCommit))
    session.execute(delete(BoundaryPlan))
    for model in (CellStaff, Building, Compound, ServiceResource, GridCell, Street):
        session.execute(delete(model))
    # demo accounts are those that open with the published demo password; anyone else's account stays
    session.execute(delete(User).where(User.id.in_(demo_user_ids(session))))
    session.execute(delete(AdminArea).where(AdminArea.level == "community"))
    session.execute(delete(AdminArea).where(AdminArea.level == "subdistrict"))
    session.execute(delete(AdminArea))
    # their history goes with them (the version triggers closed, not removed, the versions)
    session.execute(delete(CompoundVersion))
    session.execute(delete(AdminAreaVersion))
    kept_orgs = select(User.organization_id).where(User.organization_id.is_not(None))
    session.execute(delete(Organization).where(Organization.id.not_in(kept_orgs)))


def demo_user_ids(session: Session) -> list[int]:
    """Users whose password is the demo password (one argon2 check per distinct hash: the demo loader
    gives all its users one hash)."""
    by_hash: dict[str, list[int]] = {}
    for uid, h in session.execute(select(User.id, User.password_hash)).tuples():
        by_hash.setdefault(h, []).append(uid)
    return [uid for h, ids in by_hash.items() if verify_password(h, DEMO_PASSWORD) for uid in ids]


class NotADemoDatabase(Conflict):
    code = "not_a_demo_database"


def is_demo_database(session: Session) -> bool:
    """The demo 街道 is loaded here: its shared-password accounts belong to this database."""
    return session.scalar(select(AdminArea.id).where(AdminArea.code == SUBDISTRICT_CODE)) is not None


def require_demo_database(session: Session) -> None:
    """Demo users (one shared password, admins among them) never enter a database that holds real data."""
    if not is_demo_database(session):
        raise NotADemoDatabase(
            "这不是演示数据库 / this database holds no demo 街道: demo accounts with the shared demo password "
            "are only created in a demo database (run `gridgov demo load` on an empty database first)"
        )


def load_demo(
    session: Session, *, scale: int = 1, seed: int = 42, replace: bool = False, tickets: int | None = None
) -> dict[str, int]:
    """Write the demo into the caller's transaction. Idempotent: if the demo 街道 exists, nothing is written
    (unless `replace`). `tickets` historical tickets are created through the real workflow (default 300).

    Refuses a database that already holds other data (users, areas): the demo's accounts share one published
    password and must never land beside real ones."""
    exists = session.scalar(select(AdminArea.id).where(AdminArea.code == SUBDISTRICT_CODE))
    if exists is not None and not replace:
        return counts(session)
    if exists is None and (
        session.scalar(select(func.count()).select_from(User))
        or session.scalar(select(func.count()).select_from(AdminArea))
    ):
        raise NotADemoDatabase(
            "数据库已有非演示数据 / this database already holds users or areas that are not the demo: "
            "the demo's accounts share a published password, so it is only loaded into an empty database "
            "(create a fresh one, e.g. GRIDGOV_DB=gridgov_demo)"
        )
    if exists is not None:
        _purge(session)
    data = generate_demo(scale=scale, seed=seed)

    area_ids: dict[str, int] = {}
    for a in data.areas:  # parents first (the list is ordered district, subdistricts, communities)
        row = {k: a.get(k) for k in ("code", "name", "level", "party_org", "secretary", "phone")}
        row["parent_id"] = area_ids.get(a["parent"]) if a.get("parent") else None
        row["geom"] = _ewkt(a["geom"])
        area_ids[a["code"]] = session.execute(insert(AdminArea).returning(AdminArea.id), [row]).scalar_one()
    org_ids = dict(
        session.execute(insert(Organization).returning(Organization.code, Organization.id), data.organizations)
        .tuples()
        .all()
    )

    pw = hash_password(DEMO_PASSWORD)
    user_rows = [
        {
            "username": u["username"],
            "full_name": u["full_name"],
            "role": u["role"],
            "password_hash": pw,
            "jurisdiction": u["jurisdiction"],
            "phone": u.get("phone"),
            "organization_id": org_ids.get(u.get("org", "")),
            "photo_url": f"/v1/avatars/{quote(u['full_name'])}.svg",
        }
        for u in data.users
    ]
    user_ids = dict(session.execute(insert(User).returning(User.username, User.id), user_rows).tuples().all())

    session.execute(
        insert(GridCell),
        [
            {
                "code": c["code"],
                "name": c["name"],
                "community_id": area_ids[c["community"]],
                "cell_type": c["cell_type"],
                "households": c["households"],
                "population": c["population"],
                "valid_from": VALID_FROM,
                "geom": _ewkt(c["geom"]),
            }
            for c in data.cells
        ],
    )
    session.execute(
        insert(CellStaff),
        [
            {
                "cell_code": s["cell_code"],
                "user_id": user_ids[s["username"]],
                "duty": s["duty"],
                "duty_phone": s.get("duty_phone"),
            }
            for s in data.staff
        ],
    )
    comp_rows = [
        _pick(
            c,
            "code name kind address cell_code party_branch households built_year wechat_group contacts",
            community_id=area_ids[c["community"]],
            property_company_id=org_ids.get(c["property_company"] or ""),
            geom=_ewkt(c["geom"]),
        )
        for c in data.compounds
    ]
    comp_ids = dict(session.execute(insert(Compound).returning(Compound.code, Compound.id), comp_rows).tuples().all())
    chunk = 20_000
    rows = [
        _pick(
            b,
            "code name cell_code households floors party_group_leader party_member_households",
            compound_id=comp_ids[b["compound"]],
            geom=_ewkt_poly(b["geom"]),
        )
        for b in data.buildings
    ]
    for k in range(0, len(rows), chunk):
        session.execute(insert(Building), rows[k : k + chunk])
    session.execute(
        insert(ServiceResource),
        [
            _pick(
                r,
                "code type name address phone opening_hours osm_hours hours features cell_code",
                community_id=area_ids[r["community"]],
                photo_url=None,
                geom="SRID=4326;" + r["geom"].wkt,
            )
            for r in data.resources
        ],
    )
    session.execute(
        insert(Street),
        [_pick(st, "name source target length_m", geom=_ewkt_line(st["geom"])) for st in data.streets],
    )
    session.flush()

    from data.demo_tickets import load_demo_tickets

    load_demo_tickets(session, seed=seed, count=300 if tickets is None else tickets)
    from data.demo_patrols import load_demo_patrols

    load_demo_patrols(session, seed=seed)
    from data.demo_participation import load_demo_participation

    load_demo_participation(session, seed=seed)
    return counts(session)
