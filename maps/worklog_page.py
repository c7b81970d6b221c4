"""The printable 民情工作日志 (/v1/patrols/log?format=html): one worker's or one compound's day on one A4
sheet — 日巡查 (visits, minutes on site against the 定岗 rule, distance), 日记录 (五必查 checked, problems
found, households visited), 日反馈 (tickets and their state) — with lines to sign. Plain HTML and print CSS
(maps/templates/worklog.html), no script; drawn from `gis.patrol.worklog.log_view`."""

from __future__ import annotations

from typing import Any

from maps.core import render_template


def worklog_page(view: dict[str, Any]) -> str:
    """The log page (Chinese, A4 portrait); every value autoescaped."""
    kind = "网格员" if view["kind"] == "worker" else "小区"
    return render_template("worklog.html", title=f"民情工作日志 {view['date']} · {kind} {view['name']}", log=view,
                           styles=[], scripts=[])  # fmt: skip
