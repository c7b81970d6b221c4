"""How the 通报's figures read in every format (rates as percentages, hours with one decimal, changes signed)."""

from __future__ import annotations

from typing import Any

RATE_KEYS = frozenset(
    {
        "response_rate",
        "solve_rate",
        "on_time_rate",
        "reopen_rate",
        "follow_up_rate",
        "satisfaction_rate",
        "rectify_rate",
        "coverage",
        "rule_met_rate",
    }  # fmt: skip
)


def show(key: str, value: Any) -> str:
    """A figure as text: 95.24%, +21.00%, 12.5, 4.6, —."""
    if value is None:
        return "—"
    if key == "hotline_change":
        return f"{value * 100:+.2f}%"
    if key in RATE_KEYS:
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:.1f}" if key.endswith("_hours") else f"{value:.2f}"
    return str(value)


def change(key: str, now: Any, before: Any) -> str:
    """The change on the previous period: points for rates, a signed difference otherwise."""
    if now is None or before is None or key == "hotline_change":
        return "—"
    if key in RATE_KEYS:
        return f"{(now - before) * 100:+.2f}个百分点"
    diff = now - before
    return f"{diff:+.1f}" if isinstance(diff, float) else f"{diff:+d}"


STATUS_LABELS = {"open": "协商中", "agreed": "已达成一致", "rejected": "未通过", "shelved": "搁置"}
LIST_LABELS = {"red": "红榜", "black": "黑榜", "": ""}


def summary_rows(data: dict[str, Any]) -> list[list[str]]:
    """[指标, 本期, 上期, 变化] for the summary table."""
    rows = []
    for k in data["summary_keys"]:
        now, before = data["figures"].get(k), data["previous_figures"].get(k)
        rows.append([data["labels"][k], show(k, now), show(k, before), change(k, now, before)])
    return rows


COMMUNITY_KEYS = ("received", "solve_rate", "response_rate", "on_time_rate", "satisfaction_rate", "hotline")
CELL_KEYS = ("received", "solved", "solve_rate", "ever_overdue", "median_hours")
TREND_KEYS = ("received", "solved", "solve_rate", "satisfaction_rate", "hotline")


def ranking_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [
        [
            str(e["rank"]) + ("（并列）" if e["tied"] else ""),
            e["name"],
            show("score", e["score"]),
            LIST_LABELS[e["list"]],
            str(e["received"]),
            e["note"],
        ]  # fmt: skip
        for e in r["ranked"]
    ]
    rows += [["—", e["name"], "—", "", str(e["received"]), e["note"]] for e in r["too_few"]]
    return rows


RANKING_HEADER = ["名次", "单位", "得分", "榜单", "受理数", "说明"]
