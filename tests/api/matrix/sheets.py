"""Route × role entries for the reference sheets (templates, exports, previews, commits)."""

from __future__ import annotations

from tests.api.matrix import EMPTY_FILE, OK, TOKEN, Entry, Expect

# the staff sheet (网格员名单) is for admins and community managers; an empty upload is refused with 422 once
# past the role check
STAFF_SHEET: Expect = (OK, 403, OK, 403, 403, 403, 403, 401)
STAFF_UPLOAD: Expect = (422, 403, 422, 403, 403, 403, 403, 401)
FMT = {"params": {"format": "csv"}}

ENTRIES: dict[str, Entry] = {
    "GET /v1/reference/sheets": ("/v1/reference/sheets", {}, TOKEN),
    "GET /v1/reference/sheets/{sheet}/template": ("/v1/reference/sheets/staff/template", FMT, STAFF_SHEET),
    "GET /v1/reference/sheets/{sheet}/export": ("/v1/reference/sheets/staff/export", FMT, STAFF_SHEET),
    "POST /v1/reference/sheets/{sheet}/preview": ("/v1/reference/sheets/staff/preview", EMPTY_FILE, STAFF_UPLOAD),
    "POST /v1/reference/sheets/{sheet}/commit": ("/v1/reference/sheets/staff/commit", EMPTY_FILE, STAFF_UPLOAD),
}
