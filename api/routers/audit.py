"""The audit of personal-data reads: who read a reporter's name or phone, a register of persons, and when
(admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.deps import PageQuery, SessionDep
from api.routers.users import admin_only
from api.schemas.audit import PersonalDataReadPagePublic
from api.schemas.common import LocalDatetime, error_responses
from gis import access, auth
from gis.models import User

router = APIRouter(
    prefix="/v1/audit",
    tags=["audit"],
    dependencies=[Depends(admin_only)],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("/personal-data-reads", response_model=PersonalDataReadPagePublic)
def personal_data_reads(
    session: SessionDep,
    page: PageQuery,
    user: Annotated[str | None, Query(max_length=60, description="username of the reader")] = None,
    since: Annotated[LocalDatetime | None, Query(description="reads at or after this time")] = None,
    until: Annotated[LocalDatetime | None, Query(description="reads before this time")] = None,
) -> dict[str, Any]:
    """Reads of personal data, newest first; filter by reader and time, paged."""
    user_id = auth.get_user(session, user).id if user is not None else None
    matched, rows = access.personal_data_reads(
        session, user_id=user_id, since=since, until=until, limit=page.limit, offset=page.offset
    )
    ids = {r.user_id for r in rows if r.user_id is not None}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).tuples().all())
    items = [
        {
            "id": r.id,
            "user_id": r.user_id,
            "username": names.get(r.user_id) if r.user_id is not None else None,
            "subject": r.subject,
            "ref": r.ref,
            "fields": list(r.fields),
            "at": r.at,
        }
        for r in rows
    ]
    return {"items": items, "numberMatched": matched, "numberReturned": len(items)}
