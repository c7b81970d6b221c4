"""Route × role entries for notifications: everyone's own inbox and preferences, the public opt-out of SMS
receipts (a ticket token), the admins' delivery log."""

from __future__ import annotations

from tests.api.matrix import ADMIN, BAD, PUBLIC, TOKEN, Entry, Expect

UNPROCESSABLE: Expect = (422, 422, 422, 422, 422, 422, 422, 401)  # an empty body, once past the log-in
ADMIN_ABSENT: Expect = (404, 403, 403, 403, 403, 403, 403, 401)  # no such delivery

ENTRIES: dict[str, Entry] = {
    "GET /v1/me/notifications": ("/v1/me/notifications", {}, TOKEN),
    "GET /v1/me/notifications/unread": ("/v1/me/notifications/unread", {}, TOKEN),
    "POST /v1/me/notifications/read": ("/v1/me/notifications/read", BAD, UNPROCESSABLE),
    "GET /v1/me/notification-preferences": ("/v1/me/notification-preferences", {}, TOKEN),
    "PUT /v1/me/notification-preferences": ("/v1/me/notification-preferences", {"json": {}}, TOKEN),
    "POST /v1/notifications/opt-out": ("/v1/notifications/opt-out", BAD, (422,) * 8),  # public: the token decides
    "GET /v1/notifications/deliveries": ("/v1/notifications/deliveries", {}, ADMIN),
    "GET /v1/notifications/deliveries/{message_id}": ("/v1/notifications/deliveries/2000000000", {}, ADMIN_ABSENT),
    "POST /v1/notifications/deliveries/{message_id}/resend": (
        "/v1/notifications/deliveries/2000000000/resend",
        {},
        ADMIN_ABSENT,
    ),
    "GET /maps/notifications": ("/maps/notifications", {}, PUBLIC),  # a shell holding no data
}
