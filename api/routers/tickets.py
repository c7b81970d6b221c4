"""Ticket endpoints (工单): intake, lists/export, detail, history, workflow actions, 吹哨 parts,
follow-up and rating, offline batches, 12345 import, photos. Thin: parse, call gis.tickets, shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Query, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from api.deps import (
    BBoxQuery,
    BearerCredentials,
    CsvQuery,
    CurrentUser,
    NearQuery,
    OpenSession,
    OptionalUser,
    PageQuery,
    SessionDep,
    SettingsDep,
    TicketConfigDep,
    optional_user,
)
from api.schemas.common import NAIVE_IS_BEIJING, LocalDatetime, error_responses
from api.schemas.tickets import (
    ActionCreate,
    ActionPublic,
    AttachmentPublic,
    BatchCreate,
    BatchPublic,
    BatchResultPublic,
    DuplicatePublic,
    EventPublic,
    HotlineImportPublic,
    IntakePublic,
    RatingCreate,
    TicketCategoriesPublic,
    TicketCreate,
    TicketDetailPublic,
    TicketPagePublic,
)
from gis.errors import InvalidInput
from gis.tickets import access, actions, batch, dedupe, feedback, hotline, intake, photos, queries
from gis.tickets.models import Attachment

router = APIRouter(prefix="/v1", tags=["tickets"], responses=error_responses(401, 403, 404, 409, 413, 422))


def _draft(body: TicketCreate) -> intake.TicketDraft:
    data = body.model_dump(exclude={"client_key"})
    return intake.TicketDraft(**data)


@router.get("/ticket-categories", response_model=TicketCategoriesPublic)
def ticket_categories(config: TicketConfigDep) -> dict[str, Any]:
    """Categories (with the unit type that handles each) and SLA profiles/tiers."""
    return config.public_view()


@router.post("/tickets", status_code=status.HTTP_201_CREATED, response_model=IntakePublic)
async def create_ticket(
    body: TicketCreate,
    response: Response,
    open_session: OpenSession,
    creds: BearerCredentials,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> IntakePublic:
    """点单: report a problem. Public reports (no token) need reporter_name and reporter_phone.

    The answer lists open tickets of the same category nearby (`duplicates`): merge with
    POST /v1/tickets/{id}/actions {"action": "merge", "payload": {"into": <id>}} or keep it."""
    # The hot intake path: the session, the user, the ticket and the commit in one worker-thread hop, not four.
    out = await run_in_threadpool(_create_ticket, open_session, creds, body, idempotency_key)
    if out.replayed:
        response.status_code = status.HTTP_200_OK
    return out


def _create_ticket(
    open_session: OpenSession, creds: BearerCredentials, body: TicketCreate, idempotency_key: str | None
) -> IntakePublic:
    with open_session() as session:  # commits on success, rolls back on error
        user = optional_user(session, creds)
        result = intake.create_ticket(session, _draft(body), user=user, client_key=body.client_key or idempotency_key)
        t = result.ticket
        return IntakePublic(
            id=t.id,
            state=t.state,
            token=t.token,
            cell_code=t.cell_code,
            compound_code=t.compound_code,
            unit_name=result.unit_name if not result.replayed else queries.unit_name(session, t.unit_id),
            route=result.route_reason,
            tier=t.tier,
            due_at=t.due_at,
            resolve_due_at=t.resolve_due_at,
            duplicates=[DuplicatePublic.model_validate(d) for d in result.duplicates],
            replayed=result.replayed,
        )


def ticket_query(
    bbox: BBoxQuery,
    near: NearQuery,
    page: PageQuery,
    state: Annotated[CsvQuery, Query(description="comma-separated states")] = (),
    unit_id: int | None = None,
    cell: str | None = None,
    community: str | None = None,
    category: Annotated[CsvQuery, Query(description="comma-separated category codes")] = (),
    channel: str | None = None,
    overdue: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in description or address")] = None,
    opened_from: Annotated[LocalDatetime | None, Query(description=f"opened at or after; {NAIVE_IS_BEIJING}")] = None,
    opened_to: Annotated[LocalDatetime | None, Query(description=f"opened at or before; {NAIVE_IS_BEIJING}")] = None,
) -> queries.TicketQuery:
    return queries.TicketQuery(
        states=list(state),
        unit_id=unit_id,
        cell=cell,
        community=community,
        category=list(category),
        channel=channel,
        overdue=overdue,
        bbox=bbox,
        near=None if near is None else (near.lon, near.lat, near.radius_m),
        text=q,
        opened_from=opened_from,
        opened_to=opened_to,
        limit=page.limit,
        offset=page.offset,
    )


TicketQueryDep = Annotated[queries.TicketQuery, Depends(ticket_query)]


@router.get("/tickets", response_model=TicketPagePublic)
def list_tickets(session: SessionDep, user: CurrentUser, tq: TicketQueryDep) -> dict[str, Any]:
    """Tickets you may see (jurisdiction), newest first, with filters."""
    return queries.list_tickets(session, user, tq)


@router.get("/tickets/overdue", response_model=TicketPagePublic)
def overdue_tickets(session: SessionDep, user: CurrentUser, tq: TicketQueryDep) -> dict[str, Any]:
    """Tickets whose running SLA clock has passed its deadline (挂起 tickets excluded)."""
    tq.overdue = True
    return queries.list_tickets(session, user, tq)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/tickets/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the file (Content-Disposition)"}},
)
def export_tickets(
    session: SessionDep, user: CurrentUser, tq: TicketQueryDep, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    """CSV (UTF-8 with BOM) or Excel export of the filtered list (up to `limit`, max 1000 per page)."""
    data = queries.export(session, user, tq, format)
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="tickets.{format}"'})


@router.post("/tickets/batch", response_model=BatchPublic)
def offline_batch(body: BatchCreate, session: SessionDep, user: CurrentUser) -> BatchPublic:
    """Offline sync: tickets and actions, each with a client key; replaying the batch is harmless."""
    entries = [
        batch.BatchEntry(
            client_key=i.client_key,
            kind=i.kind,
            draft=_draft(i.ticket) if i.ticket is not None else None,
            ticket_id=i.ticket_id,
            ticket_ref=i.ticket_ref,
            action=i.action,
            note=i.note,
            payload=i.payload,
        )
        for i in body.items
    ]
    results = batch.run_batch(session, user, entries)
    ok = [r for r in results if r["ok"]]
    return BatchPublic(
        results=[BatchResultPublic(**r) for r in results],
        created=sum(1 for r in ok if not r["replayed"]),
        replayed=sum(1 for r in ok if r["replayed"]),
        failed=len(results) - len(ok),
    )


@router.post("/tickets/import", response_model=HotlineImportPublic)
def import_hotline(
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="12345 export: .csv (UTF-8/GBK) or .xlsx")],
    dry_run: bool = False,
) -> dict[str, Any]:
    """网格+12345: import hotline tickets; rows that cannot be placed are reported per row, not dropped."""
    data = file.file.read()
    return hotline.import_file(session, user, data, filename=file.filename or "upload.csv", dry_run=dry_run)


@router.get("/tickets/{ticket_id}", response_model=TicketDetailPublic)
def get_ticket(ticket_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return queries.detail(session, user, ticket_id)


@router.get("/tickets/{ticket_id}/history", response_model=list[EventPublic])
def ticket_history(ticket_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The append-only audit trail: who, when, from → to, note, payload."""
    return queries.history(session, user, ticket_id)


@router.get("/tickets/{ticket_id}/duplicates", response_model=list[DuplicatePublic])
def ticket_duplicates(ticket_id: int, session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Open tickets of the same category within the dedupe radius."""
    t = queries.get_visible(session, user, ticket_id)
    lon, lat = queries.lonlat(session, t.id)
    return dedupe.find_duplicates(
        session,
        category=t.category,
        lon=lon,
        lat=lat,
        exclude_id=t.id,
        visible=access.visible_filter(session, user),
    )


@router.post("/tickets/{ticket_id}/actions", response_model=ActionPublic)
def ticket_action(
    ticket_id: int,
    body: ActionCreate,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ActionPublic:
    """Workflow step: accept, dispatch (payload.unit_id to reassign), claim, reject (note = reason),
    start, escalate (payload.organization_ids / unit_types), acknowledge, report_part, resolve, verify,
    close, suspend (note = reason), resume, reopen, merge (payload.into), follow_up, rate.
    Illegal steps get 409 with the allowed ones; steps by the wrong person get 403."""
    queries.get_visible(session, user, ticket_id)
    key = body.client_key or idempotency_key
    if key:
        answer, replayed = actions.apply_once(
            session, ticket_id, body.action, user=user, client_key=key, note=body.note, payload=body.payload
        )
        return ActionPublic(**answer, replayed=replayed)
    answer = actions.apply(session, ticket_id, body.action, user=user, note=body.note, payload=body.payload)
    return ActionPublic(**answer)


@router.post("/tickets/{ticket_id}/rating", response_model=ActionPublic)
def rate_ticket(ticket_id: int, body: RatingCreate, session: SessionDep, user: OptionalUser) -> ActionPublic:
    """评单: the reporter rates 1–5 stars (logged in, or with the ticket's token and their phone).
    2 stars or less, or solved=false, reopens the ticket to its unit."""
    feedback.rate(
        session,
        ticket_id,
        stars=body.stars,
        solved=body.solved,
        comment=body.comment,
        user=user,
        token=body.token,
        phone=body.phone,
    )
    state = queries.ticket_state(session, ticket_id)
    return ActionPublic(ticket_id=ticket_id, state=state, action="rate")


@router.post("/attachments", status_code=status.HTTP_201_CREATED, response_model=AttachmentPublic)
def upload_photo(
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUser,
    config: TicketConfigDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    ticket_id: int | None = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Attachment:
    """Upload a photo (EXIF GPS read, then stripped); attach it to a ticket now, or on intake: by photo_ids
    (logged in) or by its upload_token (anonymous). Photos never attached are deleted after a day."""
    if ticket_id is not None:
        if user is None:
            raise InvalidInput("log in to attach a photo to an existing ticket")
        queries.get_visible(session, user, ticket_id)
    data = file.file.read(config.photos.max_bytes + 1)
    return photos.store_photo(
        session,
        settings.media_dir,
        data,
        filename=file.filename,
        user=user,
        ticket_id=ticket_id,
        client_key=idempotency_key,
    )


def _attachment(session: SessionDep, user: CurrentUser, attachment_id: int) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None or (att.ticket_id is None and att.uploaded_by_id != user.id):
        raise photos.missing(attachment_id)
    if att.ticket_id is not None:
        queries.get_visible(session, user, att.ticket_id)
    return att


@router.get("/attachments/{attachment_id}", response_class=FileResponse)
def get_photo(attachment_id: int, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> FileResponse:
    att = _attachment(session, user, attachment_id)
    return FileResponse(photos.stored_file(photos.path_for(settings.media_dir, att), att), media_type=att.content_type)


@router.get("/attachments/{attachment_id}/thumb", response_class=FileResponse)
def get_thumb(attachment_id: int, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> FileResponse:
    att = _attachment(session, user, attachment_id)
    return FileResponse(photos.stored_file(photos.thumb_for(settings.media_dir, att), att), media_type="image/jpeg")
