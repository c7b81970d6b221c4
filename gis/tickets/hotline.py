"""网格+12345: import hotline tickets from the platform's CSV or Excel export.

Each row is placed (coordinates in any accepted CRS, or an address naming a compound), anchored and
routed like any other ticket. Rows that cannot be placed or are malformed are reported with their
line number and reason — never dropped silently; each row runs in its own savepoint, so a bad row
leaves nothing behind. A row whose hotline number was already imported, or (without a number) whose
content was, is skipped: re-importing the same export is harmless. A manager imports only rows placed in
their jurisdiction; the others are refused per row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.errors import Forbidden, GridError, InvalidInput
from gis.models import User
from gis.spreadsheet import csv_text
from gis.tickets import access, idempotency, intake, sla
from gis.tickets.config import load_config
from gis.tickets.models import Ticket

MAX_ROWS = 20_000
CHANNEL = "hotline_12345"
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "编号", "external_id", "id"),
    "category": ("诉求类别", "类别", "问题类型", "category"),
    "description": ("诉求内容", "内容", "问题描述", "description"),
    "address": ("地址", "事发地址", "address"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "crs": ("坐标系", "crs"),
    "reporter_name": ("来电人", "诉求人", "姓名", "reporter_name"),
    "reporter_phone": ("联系电话", "电话", "reporter_phone", "phone"),
    "opened_at": ("受理时间", "来电时间", "opened_at", "received_at"),
    "urgency": ("紧急程度", "urgency"),
}


def _header_map(header: list[Any]) -> dict[int, str]:
    names = {alias.lower(): field for field, aliases in COLUMNS.items() for alias in aliases}
    out = {}
    for i, h in enumerate(header):
        key = str(h or "").strip().lstrip("\ufeff").lower()
        if key in names:
            out[i] = names[key]
    missing = {"category", "description"} - set(out.values())
    if missing:
        raise InvalidInput(
            f"表头缺少列 / the header lacks {sorted(missing)}; expected columns such as "
            "工单编号, 诉求类别, 诉求内容, 地址, 经度, 纬度, 坐标系, 来电人, 联系电话, 受理时间",
            detail={"header": [str(h) for h in header]},
        )
    return out


def _rows(data: bytes, filename: str) -> Iterator[list[Any]]:
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile/KeyError/… for damaged files
            raise InvalidInput(f"无法读取 Excel 文件 / cannot read the Excel file: {exc}") from exc
        for row in wb.worksheets[0].iter_rows(values_only=True):
            yield list(row)
        return
    text = csv_text(data)
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit, a stray NUL
        raise InvalidInput(
            f"CSV 无法解析 / the CSV cannot be read ({exc}): save the sheet again as CSV (UTF-8 or GBK), "
            "with no cell longer than 128 KB"
        ) from exc


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(str(value).strip().replace("/", "-"))
        except ValueError as exc:
            raise InvalidInput(f"受理时间格式有误 / cannot read the time {value!r} (use 2025-01-31 09:30)") from exc
    return t if t.tzinfo is not None else t.replace(tzinfo=sla.SHANGHAI)


def _float(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} is not a number: {value!r}") from exc


def _draft(row: dict[str, Any]) -> intake.TicketDraft:
    label = str(row.get("category") or "").strip()
    category = load_config().category_for_label(label) if label else None
    if category is None:
        raise InvalidInput(f"未知的诉求类别 / unknown category {label!r}; map it in data/config/ticket_categories.yaml")
    urgent = str(row.get("urgency") or "").strip() in ("紧急", "urgent", "特急")
    return intake.TicketDraft(
        category=category.code,
        description=str(row.get("description") or "").strip(),
        lon=_float(row.get("lon"), "经度 lon"),
        lat=_float(row.get("lat"), "纬度 lat"),
        crs=str(row.get("crs") or "wgs84").strip() or "wgs84",
        address=str(row["address"]).strip()[:200] if row.get("address") else None,
        channel=CHANNEL,
        urgency="urgent" if urgent else "normal",
        reporter_name=str(row["reporter_name"]).strip()[:60] if row.get("reporter_name") else None,
        reporter_phone=str(row["reporter_phone"]).strip()[:40] if row.get("reporter_phone") else None,
        external_id=str(row["external_id"]).strip()[:60] if row.get("external_id") else None,
        opened_at=_time(row.get("opened_at")),
    )


def _row_key(row: dict[str, Any]) -> str:
    return "row:" + idempotency.body_hash({k: str(v) for k, v in row.items() if v not in (None, "")})


def import_file(session: Session, user: User, data: bytes, *, filename: str, dry_run: bool = False) -> dict[str, Any]:
    """Import a 12345 export; returns counts, new ticket ids and one error per refused row."""
    if user.role not in ("admin", "manager"):
        raise Forbidden("12345 导入须由管理员或网格长操作 / only admins and managers import hotline tickets")
    rows = _rows(data, filename)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("文件为空 / the file is empty")
    columns = _header_map(header)
    created, skipped, errors, ids, count = 0, 0, [], [], 0
    for line, raw in enumerate(rows, start=2):
        if not any(v not in (None, "") for v in raw):
            continue
        count += 1
        if count > MAX_ROWS:
            raise InvalidInput(f"at most {MAX_ROWS} rows per file; split the export")
        row = {field: raw[i] for i, field in columns.items() if i < len(raw)}
        ext = str(row.get("external_id")).strip() if row.get("external_id") else None
        if ext and session.scalar(select(Ticket.id).where(Ticket.channel == CHANNEL, Ticket.external_id == ext)):
            skipped += 1
            continue
        savepoint = session.begin_nested()
        try:
            result = intake.create_ticket(
                session,
                _draft(row),
                user=user,
                label="12345 热线导入 / hotline import",
                # a row without a hotline number is known by its content: importing it again creates nothing
                client_key=None if ext else _row_key(row),
                key_scope=CHANNEL,
            )
            if not access.can_see(session, user, result.ticket):
                raise Forbidden(
                    f"位置不在您的辖区 / the row is placed in cell {result.ticket.cell_code}, outside your "
                    "jurisdiction; an admin or that community's manager imports it"
                )
            if result.replayed:
                savepoint.rollback()
                skipped += 1
                continue
            if dry_run:
                savepoint.rollback()
            else:
                savepoint.commit()
                ids.append(result.ticket.id)
            created += 1
        except GridError as exc:
            savepoint.rollback()
            errors.append({"row": line, "external_id": ext, "error": exc.code, "message": exc.message})
    return {
        "rows": count,
        "created": created,
        "skipped": skipped,
        "failed": len(errors),
        "ticket_ids": ids,
        "errors": errors,
    }
