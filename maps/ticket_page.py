"""The ticket page the operations map links to (/maps/tickets/{id}): one ticket and its history in
Chinese. Like the operations map it is a shell holding no ticket data: gg_tickets.js (gg.ticketPage) fetches
/v1/tickets/{id} and /v1/tickets/{id}/history with the token the operations page keeps (gg_auth.js).
The HTML is maps/templates/ticket_page.html.
"""

from __future__ import annotations

from typing import Any

from gis.tickets.workflow import MACHINE, STATE_LABELS
from maps.core import PageContext, render_plain_page
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
    init = {"id": ticket_id, "labels": page_labels()}
    return render_plain_page(
        "ticket_page.html", ctx, scripts=("gg_auth.js", "gg_tickets.js"), ticket_id=ticket_id, init=init
    )
