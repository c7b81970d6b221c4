"""The ticket page the operations map links to (/maps/tickets/{id}): one ticket and its history in
Chinese. Like the operations map it is a shell holding no ticket data: maps.js (gg.ticketPage) fetches
/v1/tickets/{id} and /v1/tickets/{id}/history with the token the operations page keeps in localStorage.
"""

from __future__ import annotations

import json
from typing import Any

from gis.tickets.workflow import MACHINE, STATE_LABELS
from maps.assets import PAGE_JS, outside_urls
from maps.core import OutsideAssetError, PageContext, document_head, esc
from maps.ticket_layers import ticket_labels

# history entries that are not workflow transitions
EVENT_LABELS = {
    "created": "登记",
    "merged_in": "合并入",
    "rated": "评价",
    "follow_up": "回访",
    "note": "备注",
    "acknowledge": "报到",
    "report_part": "部门反馈",
}


def page_labels() -> dict[str, Any]:
    """Chinese labels of categories, states and history actions (no ticket data)."""
    actions = {**EVENT_LABELS, **{a: t.label for a, t in MACHINE.items()}}
    return {**ticket_labels(), "states": dict(STATE_LABELS), "actions": actions}


def ticket_page(ticket_id: int, ctx: PageContext) -> str:
    """The HTML shell of one ticket's page; refuses outside hosts like every map page."""
    init = json.dumps({"id": ticket_id, "labels": page_labels()}, ensure_ascii=False).replace("<", "\\u003c")
    html = f"""<!DOCTYPE html>
<html lang="zh-CN">
{document_head(ctx, f'<script src="{esc(ctx.link(PAGE_JS[1]))}"></script>')}
<body class="gg-doc">
<header class="gg-head"><div><h1>工单 {ticket_id}</h1><div class="gg-sub">网格化管理 · 工单详情与办理记录</div></div>
<div class="gg-actions"><a class="gg-btn" href="{esc(ctx.link("/maps/operations"))}">返回网格运行图</a></div></header>
<main class="gg-ticket-page">
  <div id="gg-ticket-msg" class="gg-status">正在加载…</div>
  <section class="gg-card" id="gg-ticket" hidden><h2>工单信息</h2><dl class="gg-facts"></dl></section>
  <section class="gg-card" id="gg-history" hidden><h2>办理记录</h2><ol class="gg-timeline"></ol></section>
</main>
<script>gg.ticketPage({init});</script>
</body>
</html>
"""
    bad = outside_urls(html, allowed_hosts=ctx.allowed_hosts)
    if bad:
        raise OutsideAssetError(f"page {ctx.path} references outside hosts: {sorted(set(bad))[:5]}")
    return html
