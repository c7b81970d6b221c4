"""Route × role entries for patrols (巡查), the 四必到 register and the field app."""

from __future__ import annotations

from tests.api.matrix import BAD, COMMUNITY, OK, PUBLIC, TOKEN, Entry, Expect

# patrols: managers (and admins) oversee, grid workers and managers patrol, the cell's staff keep the 四必到 list
PATROL_MANAGE: Expect = (OK, 403, OK, 403, 403, 403, 403, 401)
PATROL_WORK: Expect = (403, 403, OK, OK, 403, 403, 403, 401)
PATROL_STAFF: Expect = (OK, 403, OK, OK, 403, 403, 403, 401)
# a patrol body is validated with the request (422 for an incomplete one, before the owner check: it reveals
# nothing); the owner rules with real patrols are in tests/patrol (PATROL_ROUTE_ROLES)
PATROL_BODY: Expect = (422, 422, 422, 422, 422, 422, 422, 401)
DAY = {"params": {"community": COMMUNITY, "date": "2026-11-30"}}

ENTRIES: dict[str, Entry] = {
    # patrols (巡查): per-role rules of the patrol domain are tested in tests/patrol (PATROL_ROUTE_ROLES, with a
    # real patrol); here every route answers each role without a 5xx and anonymous callers get 401
    "GET /v1/patrols/assignments": ("/v1/patrols/assignments", {"params": {"community": COMMUNITY}}, PATROL_MANAGE),
    "PUT /v1/compounds/{code}/assignments": ("/v1/compounds/{compound}/assignments", BAD, PATROL_BODY),
    "POST /v1/patrols": ("/v1/patrols", BAD, PATROL_BODY),
    "POST /v1/patrols/{patrol_id}/fixes": ("/v1/patrols/2000000000/fixes", BAD, PATROL_BODY),
    "POST /v1/patrols/{patrol_id}/checkins": ("/v1/patrols/2000000000/checkins", BAD, PATROL_BODY),
    "POST /v1/patrols/{patrol_id}/end": ("/v1/patrols/2000000000/end", BAD, (404, 404, 404, 404, 404, 404, 404, 401)),
    "POST /v1/patrols/visits/{visit_id}/answers": ("/v1/patrols/visits/2000000000/answers", BAD, PATROL_BODY),
    "GET /v1/patrols/checklist": ("/v1/patrols/checklist", {}, TOKEN),
    "GET /v1/patrols/me/today": ("/v1/patrols/me/today", {}, PATROL_WORK),
    "GET /v1/patrols/rule": ("/v1/patrols/rule", DAY, PATROL_MANAGE),
    "GET /v1/patrols/rule.xlsx": ("/v1/patrols/rule.xlsx", DAY, PATROL_MANAGE),
    "GET /v1/patrols/coverage": ("/v1/patrols/coverage", DAY, PATROL_MANAGE),
    "GET /v1/patrols/unvisited": ("/v1/patrols/unvisited", {"params": {"community": COMMUNITY}}, PATROL_MANAGE),
    "GET /v1/patrols/tracks": (
        "/v1/patrols/tracks",
        {"params": {"date": "2026-11-30", "worker_id": "{worker_id}"}},
        PATROL_STAFF,
    ),
    "GET /v1/patrols/log": (
        "/v1/patrols/log",
        {"params": {"date": "2026-11-30", "compound": "{compound}"}},
        PATROL_MANAGE,
    ),
    "GET /v1/must-visit": ("/v1/must-visit", {}, PATROL_STAFF),
    "GET /v1/must-visit/today": ("/v1/must-visit/today", {}, PATROL_STAFF),
    "POST /v1/must-visit": ("/v1/must-visit", BAD, PATROL_BODY),
    "GET /maps/patrols": ("/maps/patrols", DAY, (OK, 403, OK, 403, 403, 403, 403, OK)),  # no token: a shell
    # the field app's shell, service worker, manifest and icons hold no data
    "GET /field": ("/field", {}, PUBLIC),
    "GET /field/sw.js": ("/field/sw.js", {}, PUBLIC),
    "GET /field/manifest.webmanifest": ("/field/manifest.webmanifest", {}, PUBLIC),
    "GET /field/icon-{size}.png": ("/field/icon-192.png", {}, PUBLIC),
}
