"""The notifications page (/maps/notifications): the user's in-app inbox (mark read) and, for admins, the
delivery log (what went out, to whom, what failed, each attempt's answer, resend). A shell holding no data:
notify.js fetches /v1/me/notifications and /v1/notifications/deliveries with the stored token (gg_auth.js).
The HTML is maps/templates/notify/notifications.html."""

from __future__ import annotations

from maps.core import PageContext, render_plain_page

CHANNEL_LABELS = {
    "sms": "短信",
    "email": "邮件",
    "wecom": "企业微信群",
    "dingtalk": "钉钉群",
    "feishu": "飞书群",
    "webhook": "Webhook",
}
STATUS_LABELS = {"queued": "排队", "sending": "发送中", "delivered": "已送达", "failed": "失败", "cancelled": "已取消"}


def notifications_page(ctx: PageContext) -> str:
    init = {"channels": CHANNEL_LABELS, "statuses": STATUS_LABELS}
    return render_plain_page("notify/notifications.html", ctx, scripts=("gg_auth.js", "notify.js"), init=init)
