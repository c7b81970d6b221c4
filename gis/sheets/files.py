"""Reading a filled sheet (.xlsx, or .csv in UTF-8 or GBK) and writing templates and exports (.xlsx with a
说明 sheet explaining every column, or .csv). Every written text goes through gis.spreadsheet.spreadsheet_cell,
so a name such as `=HYPERLINK(…)` stays text when a spreadsheet opens the export."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from gis.errors import InvalidInput
from gis.sheets.columns import Column, clean
from gis.spreadsheet import csv_text, spreadsheet_cell

MAX_BYTES = 10_000_000
MAX_ROWS = 20_000
MAX_UNZIPPED = 100_000_000
NOTES_SHEET = "说明"
FORMATS = ("xlsx", "csv")


@dataclass
class Table:
    """The rows of an uploaded sheet: `rows` are (row number as the spreadsheet shows it, {column key: raw})."""

    columns: list[Column]
    rows: list[tuple[int, dict[str, Any]]]
    ignored_headers: list[str]


def _matrix(data: bytes, filename: str, title: str) -> list[list[Any]]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"文件过大 / the file exceeds {MAX_BYTES // 1_000_000} MB: 请分社区分批导入")
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
                    raise InvalidInput("Excel 文件解压后过大 / the workbook is too large once unzipped")
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except InvalidInput:
            raise
        except Exception as exc:  # openpyxl raises zipfile/KeyError/… for damaged files
            raise InvalidInput(
                f"无法读取 Excel 文件 / cannot read the workbook ({exc}): 请用模板另存为 .xlsx 或 .csv"
            ) from exc
        names = wb.sheetnames
        name = title if title in names else next((n for n in names if n != NOTES_SHEET), names[0])
        out = [list(r) for _, r in zip(range(MAX_ROWS + 2), wb[name].iter_rows(values_only=True), strict=False)]
        wb.close()
        return out
    text = csv_text(data)
    try:
        return [row for _, row in zip(range(MAX_ROWS + 2), csv.reader(io.StringIO(text)), strict=False)]
    except csv.Error as exc:
        raise InvalidInput(f"CSV 无法解析 / the CSV cannot be read ({exc}): 请用 Excel 重新保存") from exc


def read_table(data: bytes, filename: str, title: str, columns: Sequence[Column]) -> Table:
    """The data rows of a filled sheet, keyed by column; its header names the columns (Chinese heading or the
    English key, in any order); blank rows are skipped; a missing required column is refused at once."""
    matrix = _matrix(data, filename, title)
    if not matrix:
        raise InvalidInput("文件是空的 / the file is empty: 请先下载模板，在表头下方填写")
    if len(matrix) > MAX_ROWS + 1:
        raise InvalidInput(f"行数过多 / more than {MAX_ROWS} rows: 请分批导入")
    by_name = {a: c for c in columns for a in c.aliases} | {c.header: c for c in columns} | {c.key: c for c in columns}
    header = [clean(h) for h in matrix[0]]
    found: dict[int, Column] = {}
    ignored: list[str] = []
    for i, h in enumerate(header):
        col = by_name.get(h.rstrip("*＊").strip())
        if col is not None and not col.info:
            found[i] = col
        elif h and col is None:
            ignored.append(h)
    missing = [c.header for c in columns if c.required and c not in found.values()]
    if missing:
        raise InvalidInput(
            f"表头缺少必填列 / the header lacks required columns: {'、'.join(missing)}；"
            "请使用下载的模板（第 1 行是表头）",
            detail={"missing": missing, "header": header},
        )
    rows = []
    for n, raw in enumerate(matrix[1:], start=2):
        if all(clean(v) == "" for v in raw):
            continue
        rows.append((n, {col.key: (raw[i] if i < len(raw) else None) for i, col in found.items()}))
    return Table(list(found.values()), rows, ignored)


def _header(col: Column) -> str:
    return col.header + ("*" if col.required else "")


def write_table(title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """The sheet as .xlsx (data sheet `title` plus the 说明 sheet) or .csv (UTF-8 with BOM, so Excel opens it
    right); `rows` hold values (see Column.show)."""
    cols = list(columns)  # exports keep the template's layout (write-only columns stay empty)
    table = [[spreadsheet_cell(c.show(r.get(c.key))) for c in cols] for r in rows]
    if fmt == "csv":
        text_buf = io.StringIO()
        w = csv.writer(text_buf)
        w.writerow([_header(c) for c in cols])
        w.writerows(table)
        return text_buf.getvalue().encode("utf-8-sig")
    if fmt != "xlsx":
        raise InvalidInput(f"不支持的格式 / unknown format {fmt!r}: use {' or '.join(FORMATS)}")
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([_header(c) for c in cols])
    for i, c in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="9E2A2B" if c.required else ("888888" if c.info else "4A6FA5"))
        ws.column_dimensions[cell.column_letter].width = max(10, min(40, 2 * len(c.header) + 6))
        if c.kind in ("choice", "bool"):
            values = list(c.choices.values()) if c.kind == "choice" else ["是", "否"]
            if len(",".join(values)) < 250:  # Excel's limit for an inline list
                dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=not c.required)
                dv.error, dv.errorTitle = f"请从列表中选择：{c.allowed()}", c.header
                ws.add_data_validation(dv)
                dv.add(f"{cell.column_letter}2:{cell.column_letter}{MAX_ROWS}")
    for row in table:
        ws.append(row)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet(NOTES_SHEET)
    notes.append(["列名", "必填", "说明", "可填的值"])
    for c in columns:
        use = "导出时供参考，导入时忽略" if c.info else c.note
        notes.append([c.header, "是" if c.required else "", use, "" if c.info else c.allowed()])
    notes.append([])
    notes.append(["", "", "第 1 行是表头，请勿修改；从第 2 行起每行一条。红色表头为必填列，灰色表头仅供参考。", ""])
    notes.append(
        ["", "", "导入前先“预览”：列出将新建、修改、不变的行，以及每个错误所在的行和列；有错误时不写入任何数据。", ""]
    )
    notes.append(["", "", "导出的文件可以直接修改后再导入；原样再导入不会改变任何数据。", ""])
    for letter, width in zip("ABCD", (16, 6, 60, 50), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in notes[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
