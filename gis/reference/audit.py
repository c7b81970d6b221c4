"""The audit trail of reference data: every create, update, disable, enable or delete of an organization,
user, cell-staff assignment, compound, resource or party unit writes one `ReferenceChange` (who, when, the
object, its state before and after) in the same transaction; an admin reads them and reverts a single change.

Each table has a `Spec`: the columns that describe an object (its snapshot) and how to find, rebuild or remove
it, so revert is generic: an update is undone by writing the `before` values back (refused when the object
changed again since: revert the later change first), a creation by removing the object (accounts are disabled
instead: they own tokens and tickets), a deletion by rebuilding it from `before`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.errors import Conflict, InvalidInput, NotFound
from gis.models import Building, CellStaff, Compound, Organization, ServiceResource, User
from gis.reference.models import PartyUnit, ReferenceChange
from gis.spatial import point_sql


@dataclass(frozen=True)
class Spec:
    model: Any
    fields: tuple[str, ...]
    key: Callable[[Any], str]
    find: Callable[[Session, str], Any]
    extra: Callable[[Session, Any], dict[str, Any]] = field(default=lambda s, o: {})  # informative, not restored
    deletable: bool = True


def _by(column: Any) -> Callable[[Session, str], Any]:
    def find(session: Session, key: str) -> Any:
        return session.scalar(select(column.class_).where(column == key))

    return find


def _staff(session: Session, key: str) -> CellStaff | None:
    cell_code, _, username = key.partition(":")
    return session.scalar(
        select(CellStaff)
        .join(User, User.id == CellStaff.user_id)
        .where(CellStaff.cell_code == cell_code, User.username == username)
    )


def _lonlat(session: Session, obj: Any) -> dict[str, Any]:
    if obj.geom is None:
        return {}
    x, y = session.execute(select(func.ST_X(obj.geom), func.ST_Y(obj.geom))).one()
    return {"lon": round(float(x), 7), "lat": round(float(y), 7)}


SPECS: dict[str, Spec] = {
    "organizations": Spec(
        Organization,
        ("code", "name", "kind", "unit_type", "phone", "address", "service_area", "is_active"),
        key=lambda o: o.code,
        find=_by(Organization.code),
    ),
    "users": Spec(
        User,
        ("username", "full_name", "phone", "role", "organization_id", "jurisdiction", "is_active"),
        key=lambda u: u.username,
        find=_by(User.username),
        deletable=False,
    ),
    "cell_staff": Spec(
        CellStaff,
        ("cell_code", "user_id", "duty", "duty_phone", "employment"),
        key=lambda s: f"{s.cell_code}:{s.user.username}",
        find=_staff,
        extra=lambda session, s: {"username": s.user.username},
    ),
    "compounds": Spec(
        Compound,
        (
            "code",
            "name",
            "kind",
            "address",
            "households",
            "built_year",
            "property_company_id",
            "party_branch",
            "wechat_group",
            "contacts",
            "committee",
        ),  # fmt: skip
        key=lambda c: c.code,
        find=_by(Compound.code),
        deletable=False,  # boundaries are changed by plans (gis/plans), never here
    ),
    "buildings": Spec(
        Building,
        ("code", "name", "households", "floors", "party_group_leader", "party_member_households"),
        key=lambda b: b.code,
        find=_by(Building.code),
        deletable=False,  # footprints are changed by imports and plans
    ),
    "service_resources": Spec(
        ServiceResource,
        (
            "code",
            "type",
            "name",
            "address",
            "phone",
            "opening_hours",
            "osm_hours",
            "hours",
            "features",
            "photo_url",
            "community_id",
            "cell_code",
            "organization_id",
        ),  # fmt: skip
        key=lambda r: r.code,
        find=_by(ServiceResource.code),
        extra=_lonlat,
    ),
    "party_units": Spec(
        PartyUnit,
        (
            "code",
            "kind",
            "name",
            "parent_id",
            "community_code",
            "compound_code",
            "building_code",
            "leader",
            "phone",
            "members",
            "is_active",
        ),  # fmt: skip
        key=lambda p: p.code,
        find=_by(PartyUnit.code),
    ),
}


RECORDED_ONLY = ("subdistrict",)  # written by `gridgov init` (gis.sheets.street): on the trail, not revertable


def _json(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def snapshot(session: Session, table: str, obj: Any) -> dict[str, Any]:
    """The object's described columns (and informative extras such as a resource's lon/lat) as JSON."""
    spec = SPECS[table]
    session.flush()
    state = {name: _json(getattr(obj, name)) for name in spec.fields}
    state.update(spec.extra(session, obj))
    return state


def record(
    session: Session,
    actor: User | None,
    table: str,
    obj: Any,
    *,
    action: str,
    before: dict[str, Any] | None,
    community_code: str | None = None,
    reverts_id: int | None = None,
) -> ReferenceChange | None:
    """Write the audit row of a change (`before` as taken with `snapshot` before it); nothing when an update
    changed nothing, so saving a form twice leaves one row."""
    spec = SPECS[table]
    after = None if action == "delete" else snapshot(session, table, obj)
    if action == "update" and before == after:
        return None
    row = ReferenceChange(
        user_id=actor.id if actor is not None and actor.id is not None else None,
        username=actor.username if actor is not None else None,
        table_name=table,
        object_key=spec.key(obj)[:120],
        action=action,
        before=before,
        after=after,
        community_code=community_code,
        reverts_id=reverts_id,
    )
    session.add(row)
    session.flush()
    return row


def changes(
    session: Session,
    *,
    table: str | None = None,
    key: str | None = None,
    username: str | None = None,
    community: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ReferenceChange]]:
    """Audit rows, newest first, with how many match the filters."""
    if table is not None and table not in (*SPECS, *RECORDED_ONLY):
        raise InvalidInput(
            f"unknown table {table!r}; use one of {', '.join((*SPECS, *RECORDED_ONLY))}", detail={"field": "table"}
        )
    where: list[ColumnElement[bool]] = []
    if table is not None:
        where.append(ReferenceChange.table_name == table)
    if key is not None:
        where.append(ReferenceChange.object_key == key)
    if username is not None:
        where.append(ReferenceChange.username == username)
    if community is not None:
        where.append(ReferenceChange.community_code == community)
    if since is not None:
        where.append(ReferenceChange.at >= since)
    if until is not None:
        where.append(ReferenceChange.at < until)
    matched = session.scalar(select(func.count()).select_from(ReferenceChange).where(*where)) or 0
    stmt = (
        select(ReferenceChange)
        .where(*where)
        .order_by(ReferenceChange.at.desc(), ReferenceChange.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return matched, list(session.scalars(stmt))


# --- revert --------------------------------------------------------------------------------------------

AfterRevert = Callable[[Session, str, Any], None]
_after_revert: list[AfterRevert] = []  # e.g. the party hierarchy re-syncs the free-text party fields


def on_revert(hook: AfterRevert) -> AfterRevert:
    _after_revert.append(hook)
    return hook


def _apply(session: Session, table: str, obj: Any, values: dict[str, Any]) -> None:
    for name in SPECS[table].fields:
        if name in values:
            setattr(obj, name, values[name])
    if table == "service_resources" and "lon" in values and "lat" in values:
        obj.geom = point_sql(float(values["lon"]), float(values["lat"]))


def revert(session: Session, change_id: int, *, actor: User) -> ReferenceChange:
    """Undo one change; returns the new audit row (action "revert") that records the undoing."""
    import gis.reference.party  # noqa: F401  (registers its hook: re-sync the free-text party fields)

    change = session.get(ReferenceChange, change_id)
    if change is None:
        raise NotFound(f"没有这条修改记录 / no reference change {change_id}")
    if change.table_name not in SPECS:  # e.g. the 街道 row `gridgov init` writes: recorded, not revertable here
        raise Conflict(
            f"{change.table_name} 的修改不能在此撤销 / changes of {change.table_name} cannot be reverted here"
        )
    if "password" in (change.after or {}):
        raise Conflict("密码重置不能撤销，请再次重置 / a password reset cannot be reverted: reset it again")
    spec = SPECS[change.table_name]
    obj = spec.find(session, change.object_key)
    if change.before is None:  # a creation: remove what it created
        if obj is None:
            raise Conflict(f"{change.object_key} 已不存在 / {change.object_key} no longer exists")
        if not spec.deletable:
            raise Conflict(
                f"{change.object_key} 不能删除，请改为停用 / {change.table_name} are not deleted: disable it instead"
            )
        before = snapshot(session, change.table_name, obj)
        try:
            with session.begin_nested():
                session.delete(obj)
                session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"{change.object_key} 仍被其他数据引用，不能撤销创建 / {change.object_key} is still referenced "
                "(users, compounds, staff …): change those first"
            ) from exc
        row = ReferenceChange(
            user_id=actor.id, username=actor.username, table_name=change.table_name, object_key=change.object_key,
            action="revert", before=before, after=None, community_code=change.community_code, reverts_id=change.id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row
    if change.after is None or obj is None:  # a deletion: rebuild the object from `before`
        if obj is not None:
            raise Conflict(f"{change.object_key} 已存在 / {change.object_key} exists again")
        prior: dict[str, Any] | None = None
        obj = spec.model()
        _apply(session, change.table_name, obj, change.before)
        session.add(obj)
        session.flush()
    else:
        now = snapshot(session, change.table_name, obj)
        moved = [k for k, v in change.after.items() if k in spec.fields and now.get(k) != v]
        if moved:
            raise Conflict(
                f"{change.object_key} 在此之后又被修改（{', '.join(moved)}），请先撤销后来的修改 / "
                f"{change.object_key} changed again since ({', '.join(moved)}): revert the later change first",
                detail={"fields": moved},
            )
        prior = now
        _apply(session, change.table_name, obj, change.before)
        session.flush()
    for hook in _after_revert:
        hook(session, change.table_name, obj)
    result = record(
        session,
        actor,
        change.table_name,
        obj,
        action="revert",
        before=prior,
        community_code=change.community_code,
        reverts_id=change.id,
    )
    if result is None:  # pragma: no cover - record() skips only plain updates
        raise Conflict("nothing to revert")
    return result
