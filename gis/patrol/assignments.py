"""定岗小区: which workers are assigned to which compound (2–3 each, per the 街道's rule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from gis.auth import require_role
from gis.errors import InvalidInput
from gis.models import Compound, User, utcnow
from gis.patrol import access
from gis.patrol.config import PatrolConfig, load_config
from gis.patrol.models import PatrolAssignment


def list_assignments(session: Session, user: User, *, community: str) -> list[dict[str, Any]]:
    """Every compound of a community with its assigned workers."""
    access.require_reader(session, user, community)
    cid = access.community_id(session, community)
    rule = load_config().rule_for(access.subdistrict_of_community(session, cid))
    compounds = session.execute(
        select(Compound.code, Compound.name).where(Compound.community_id == cid).order_by(Compound.code)
    ).all()
    rows = session.execute(
        select(PatrolAssignment.compound_code, User.id, User.full_name, User.username)
        .join(User, User.id == PatrolAssignment.user_id)
        .join(Compound, Compound.code == PatrolAssignment.compound_code)
        .where(Compound.community_id == cid, PatrolAssignment.valid_to.is_(None))
        .order_by(PatrolAssignment.compound_code, User.id)
    ).all()
    by_code: dict[str, list[dict[str, Any]]] = {}
    for code, uid, name, username in rows:
        by_code.setdefault(code, []).append({"id": uid, "full_name": name, "username": username})
    return [
        {
            "compound_code": code,
            "compound_name": name,
            "workers": by_code.get(code, []),
            "workers_min": rule.workers_min,
            "workers_max": rule.workers_max,
        }
        for code, name in compounds
    ]


def set_assignments(
    session: Session, user: User, code: str, worker_ids: list[int], *, cfg: PatrolConfig | None = None
) -> list[int]:
    """Replace the workers assigned to a compound (a manager of its community, or an admin)."""
    require_role(user, *access.READ_ROLES)
    comp = access.compound(session, code)
    access.require_code_in_scope(session, user, code)
    rule = (cfg or load_config()).rule_for(access.subdistrict_of_community(session, comp.community_id))
    ids = sorted(set(worker_ids))
    if not rule.workers_min <= len(ids) <= rule.workers_max:
        raise InvalidInput(
            f"每个小区配备 {rule.workers_min}–{rule.workers_max} 名工作人员 / a compound needs "
            f"{rule.workers_min}–{rule.workers_max} assigned workers, got {len(ids)}",
            detail={"workers_min": rule.workers_min, "workers_max": rule.workers_max},
        )
    found = dict(session.execute(select(User.id, User.role).where(User.id.in_(ids), User.is_active)).tuples().all())
    bad = [i for i in ids if found.get(i) not in access.PATROL_ROLES]
    if bad:
        raise InvalidInput(f"not active grid workers or managers: {bad}", detail={"worker_ids": bad})
    # history: workers who leave get their row closed, newcomers a new row, the others keep theirs
    now = utcnow()
    current = set(session.scalars(select(PatrolAssignment.user_id).where(*_open(code))))
    session.execute(
        update(PatrolAssignment).where(*_open(code), PatrolAssignment.user_id.not_in(ids)).values(valid_to=now)
    )
    session.add_all(
        PatrolAssignment(compound_code=code, user_id=i, assigned_by_id=user.id, assigned_at=now, valid_from=now)
        for i in ids
        if i not in current
    )
    session.flush()
    return ids


def _open(code: str) -> tuple[ColumnElement[bool], ...]:
    return PatrolAssignment.compound_code == code, PatrolAssignment.valid_to.is_(None)


def in_force(at: datetime) -> ColumnElement[bool]:
    """The assignments in force at an instant (for a day: its last instant, as for cells)."""
    return and_(
        PatrolAssignment.valid_from <= at, or_(PatrolAssignment.valid_to.is_(None), PatrolAssignment.valid_to > at)
    )
