"""Reference sheets (网格员名单, 小区信息, 责任公示牌, 服务资源台账 …): download a template, export what is held,
preview an upload (a dry run: created / updated / unchanged rows and every error by row and column), commit it (all rows
or none). Admins use every sheet; a community manager the place and staff sheets of their jurisdiction."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Response, UploadFile

from api.deps import CurrentUser, SessionDep
from api.schemas.common import error_responses
from api.schemas.sheets import SheetPublic, SheetReportPublic
from gis.sheets import engine

router = APIRouter(prefix="/v1/reference/sheets", tags=["reference"], responses=error_responses(401, 403, 404, 422))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the file (Content-Disposition)"}
}
SheetName = Annotated[str, Path(description="users, organizations, staff, compounds, contacts, buildings, resources")]
Upload = Annotated[UploadFile, File(description="the filled sheet: .xlsx, or .csv in UTF-8 or GBK")]
Format = Literal["xlsx", "csv"]


def _file(data: bytes, name: str, title: str, fmt: str) -> Response:
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    disposition = f"attachment; filename=\"{name}.{fmt}\"; filename*=UTF-8''{quote(title)}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": disposition})


@router.get("", response_model=list[SheetPublic])
def list_sheets(_user: CurrentUser) -> list[dict[str, Any]]:
    """The sheets, their columns (Chinese heading, required, what to fill in) and who may use them."""
    engine.get_sheet("users")  # registers them all
    return [
        {
            "name": s.name,
            "title": s.title,
            "roles": list(s.roles),
            "key": list(s.key),
            "columns": [
                {
                    "key": c.key,
                    "header": c.header,
                    "required": c.required,
                    "note": c.note,
                    "allowed": c.allowed(),
                    "info": c.info,
                }
                for c in s.columns
            ],
        }
        for s in engine.SHEETS.values()
    ]


@router.get("/{sheet}/template", response_class=Response, responses=FILE_CONTENT)
def sheet_template(sheet: SheetName, session: SessionDep, user: CurrentUser, format: Format = "xlsx") -> Response:
    """An empty sheet with Chinese headers; the .xlsx has a 说明 sheet explaining every column."""
    s = engine.get_sheet(sheet)
    engine.context(session, user, s)  # the roles of the sheet
    return _file(engine.template(s, format), f"{s.name}-template", f"{s.title}模板", format)


@router.get("/{sheet}/export", response_class=Response, responses=FILE_CONTENT)
def sheet_export(sheet: SheetName, session: SessionDep, user: CurrentUser, format: Format = "xlsx") -> Response:
    """What is held now (within your jurisdiction), in the template's layout: edit it and upload it again."""
    s = engine.get_sheet(sheet)
    return _file(engine.export(session, user, sheet, format), s.name, s.title, format)


@router.post("/{sheet}/preview", response_model=SheetReportPublic)
def sheet_preview(sheet: SheetName, file: Upload, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """A dry run: which rows would be created, updated (column by column) or left unchanged, and every error
    by row and column. Nothing is written."""
    return engine.preview(session, user, sheet, file.file.read(), file.filename or "upload.xlsx")


@router.post("/{sheet}/commit", response_model=SheetReportPublic)
def sheet_commit(sheet: SheetName, file: Upload, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Import the sheet: every row, or — when any row has an error — none (422 with the report in detail)."""
    return engine.commit(session, user, sheet, file.file.read(), file.filename or "upload.xlsx")
