"""The 通报 as a Word document (.docx, what 街道 offices circulate), from build_report's data."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.shared import Cm, Pt

from gis.evaluation.report_format import (
    CELL_KEYS,
    COMMUNITY_KEYS,
    RANKING_HEADER,
    STATUS_LABELS,
    TREND_KEYS,
    ranking_rows,
    show,
    summary_rows,
)


def _table(doc: Any, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text


def report_docx(data: dict[str, Any], map_png: bytes | None = None) -> bytes:
    """The Word document: title, summary, trend, communities, 红黑榜, worst cells with the map, 议事协商."""
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
    section.left_margin = section.right_margin = Cm(2.0)
    style = doc.styles["Normal"]
    style.font.size = Pt(10.5)
    doc.add_heading(data["title"], level=0)
    doc.add_paragraph(f"通报期间：{data['period']['label']}　　生成时间：{data['generated_at']}")
    f = data["figures"]
    doc.add_paragraph(
        f"本期共受理工单 {f['received']} 件，按时响应率 {show('response_rate', f['response_rate'])}，"
        f"解决率 {show('solve_rate', f['solve_rate'])}，满意率 {show('satisfaction_rate', f['satisfaction_rate'])}；"
        f"12345 热线 {f['hotline']} 件，同比 {show('hotline_change', f['hotline_change'])}。"
    )
    doc.add_heading("一、总体情况", level=1)
    _table(doc, ["指标", "本期", "上期", "变化"], summary_rows(data))
    doc.add_heading("二、近六个月趋势", level=1)
    labels = data["labels"]
    _table(doc, ["月份", *[labels[k] for k in TREND_KEYS]],
           [[r["key"], *[show(k, r[k]) for k in TREND_KEYS]] for r in data["trend"]])  # fmt: skip
    doc.add_heading("三、各社区情况", level=1)
    _table(doc, ["社区", *[labels[k] for k in COMMUNITY_KEYS]],
           [[r["name"], *[show(k, r[k]) for k in COMMUNITY_KEYS]] for r in data["communities"]])  # fmt: skip
    for n, kind in (("四", "property"), ("五", "department")):
        r = data["rankings"][kind]
        doc.add_heading(f"{n}、{r['label']}", level=1)
        doc.add_paragraph(f"评分规则：{r['rule']}")
        doc.add_paragraph(f"并列规则：{r['tie_rule']}")
        _table(doc, RANKING_HEADER, ranking_rows(r))
    doc.add_heading("六、问题较多的网格", level=1)
    if map_png:
        doc.add_picture(io.BytesIO(map_png), width=Cm(15))
        doc.add_paragraph("图：各网格解决率（红→绿），红框编号为下表所列网格。")
    _table(doc, ["序号", "网格", "编码", *[labels[k] for k in CELL_KEYS]],
           [[str(i), w["name"], w["key"], *[show(k, w[k]) for k in CELL_KEYS]]
            for i, w in enumerate(data["worst_cells"], start=1)])  # fmt: skip
    doc.add_heading("七、意见箱与议事协商", level=1)
    doc.add_paragraph(
        f"意见箱收到建议 {f['suggestions']} 件，已整改 {f['suggestions_rectified']} 件，"
        f"整改率 {show('rectify_rate', f['rectify_rate'])}。"
    )
    _table(doc, ["小区", "议题", "状态", "累计轮次", "本期会议", "首轮同意率", "最新同意率"],
           [[t["compound"], t["title"], STATUS_LABELS.get(t["status"], t["status"]), str(t["rounds"]),
             str(t["meetings_in_period"]), show("satisfaction_rate", t["first_agreement_rate"]),
             show("satisfaction_rate", t["last_agreement_rate"])] for t in data["consultations"]])  # fmt: skip
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
