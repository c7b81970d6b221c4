"""The 通报 as an Excel workbook: one sheet per table, numbers as numbers (rates 0–1), Chinese headers."""

from __future__ import annotations

from typing import Any

from gis.evaluation.exports import to_bytes
from gis.evaluation.report_format import CELL_KEYS, COMMUNITY_KEYS, LIST_LABELS, STATUS_LABELS, TREND_KEYS

SHEETS = ("概况", "趋势", "社区", "物业公司红黑榜", "职能部门红黑榜", "问题网格", "议事协商")


def _ranking(r: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["名次", "并列", "单位", "得分", "榜单", "受理数", "说明"]
    rows = [[e["rank"], "是" if e["tied"] else "", e["name"], e["score"], LIST_LABELS[e["list"]], e["received"],
             e["note"]] for e in r["ranked"]]  # fmt: skip
    rows += [[None, "", e["name"], None, "", e["received"], e["note"]] for e in r["too_few"]]
    rows += [[], ["评分规则", r["rule"]], ["并列规则", r["tie_rule"]]]
    return header, rows


def report_xlsx(data: dict[str, Any]) -> bytes:
    labels = data["labels"]
    summary = [[labels[k], data["figures"].get(k), data["previous_figures"].get(k)] for k in data["summary_keys"]]
    trend = [[r["key"], *[r[k] for k in TREND_KEYS]] for r in data["trend"]]
    communities = [[r["key"], r["name"], *[r[k] for k in COMMUNITY_KEYS]] for r in data["communities"]]
    cells = [[i, w["key"], w["name"], *[w[k] for k in CELL_KEYS]] for i, w in enumerate(data["worst_cells"], 1)]
    topics = [[t["compound"], t["title"], STATUS_LABELS.get(t["status"], t["status"]), t["rounds"],
               t["meetings_in_period"], t["first_agreement_rate"], t["last_agreement_rate"]]
              for t in data["consultations"]]  # fmt: skip
    sheets = [
        (SHEETS[0], ["指标", f"本期 {data['period']['label']}", "上期"], summary),
        (SHEETS[1], ["月份", *[labels[k] for k in TREND_KEYS]], trend),
        (SHEETS[2], ["社区编码", "社区", *[labels[k] for k in COMMUNITY_KEYS]], communities),
        (SHEETS[3], *_ranking(data["rankings"]["property"])),
        (SHEETS[4], *_ranking(data["rankings"]["department"])),
        (SHEETS[5], ["序号", "网格编码", "网格", *[labels[k] for k in CELL_KEYS]], cells),
        (SHEETS[6], ["小区", "议题", "状态", "累计轮次", "本期会议", "首轮同意率", "最新同意率"], topics),
    ]
    return to_bytes(sheets, "xlsx")
