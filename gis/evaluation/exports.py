"""KPI tables as CSV (UTF-8 with BOM, for Excel) and XLSX, Chinese headers, safe against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from gis.errors import InvalidInput
from gis.evaluation import kpis
from gis.spreadsheet import spreadsheet_cell

FIGURES = tuple(kpis.LABELS)


def kpi_table(rows: list[dict[str, Any]], *, key_label: str | None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a KPI table (one row per group, or one row)."""
    header = ([key_label] if key_label else []) + [kpis.LABELS[k] for k in FIGURES]
    body = [([r.get("key")] if key_label else []) + [r.get(k) for k in FIGURES] for r in rows]
    return header, body


def to_bytes(sheets: Sequence[tuple[str, list[str], list[list[Any]]]], fmt: str) -> bytes:
    """CSV (the first sheet) or XLSX (every sheet) of (title, header, rows)."""
    if fmt == "csv":
        _, header, body = sheets[0]
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows([[spreadsheet_cell(v) for v in row] for row in body])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        for title, header, body in sheets:
            ws = wb.create_sheet(title[:31])
            ws.append(header)
            for row in body:
                ws.append([spreadsheet_cell(v) for v in row])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise InvalidInput("format must be csv or xlsx")


def ranking_table(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The 红黑榜 as a table: rank, name, score, list, received, each term (0–1), note."""
    terms = [w["term"] for w in out["weights"]]
    header = [
        "名次",
        "单位",
        "得分",
        "榜单",
        "受理数",
        *[f"{w['label']}(权重{w['weight']:g})" for w in out["weights"]],
        "说明",
    ]
    lists = {"red": "红榜", "black": "黑榜", "": ""}
    body = [
        [
            e["rank"],
            e["name"],
            e["score"],
            lists[e["list"]],
            e["received"],
            *[e["terms"].get(t) for t in terms],
            e["note"] + ("（并列）" if e["tied"] else ""),
        ]  # fmt: skip
        for e in out["ranked"]
    ]
    body += [[None, e["name"], None, "", e["received"], *[None for _ in terms], e["note"]] for e in out["too_few"]]
    return header, body
