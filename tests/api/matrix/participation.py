"""Route × role entries for participation (双报到, teams, service items and claims, the 积分 ledger, compound
bodies, 监督员 ratings, 联席会议). The per-role rules with real members, claims and supervisors are tested in
tests/participation; here every route answers each role without a 5xx, anonymous writers get 401, and the
community's reads are its manager's (and admins')."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.participation.models import Claim, ServiceItem, Team
from tests.api.matrix import BAD, BBOX, COMMUNITY, GATE, OK, PUBLIC, TOKEN, Entry, Expect, F

BODY: Expect = (422, 422, 422, 422, 422, 422, 422, 401)  # validated with the request, before the owner checks
COMMUNITY_READ: Expect = (OK, 403, OK, 403, 403, 403, 403, 401)
LEDGER_READ: Expect = (OK, 403, OK, OK, 403, 403, 403, 401)
# public (like the items and the summary); a manager's or grid worker's token limits it to their communities
MAP_LAYER: Expect = (OK, OK, F, F, OK, OK, OK, OK)
NOT_A_MEMBER: Expect = (403, 403, 403, 403, 403, 403, 403, 401)  # the matrix users are not registered members
P = "/v1/participation"
IN_COMMUNITY = {"params": {"community": COMMUNITY}}
MONTH = {"params": {"month": "2026-11-01"}}


def places(s: Session) -> dict[str, Any]:
    """A demo team and a demo claim still to come, in the matrix's community."""
    team = s.scalar(select(Team.id).where(Team.community_code == COMMUNITY).order_by(Team.id))
    claim, item = s.execute(
        select(Claim.id, Claim.item_id)
        .join(ServiceItem, ServiceItem.id == Claim.item_id)
        .where(ServiceItem.community_code == COMMUNITY, Claim.status == "claimed", Claim.starts_at > datetime.now(UTC))
        .order_by(Claim.id)
        .limit(1)
    ).one()
    return {"team": team, "claim": claim, "item": item}


ENTRIES: dict[str, Entry] = {
    f"POST {P}/members": (f"{P}/members", BAD, BODY),
    f"GET {P}/me": (f"{P}/me", {}, TOKEN),
    f"GET {P}/members": (f"{P}/members", {}, COMMUNITY_READ),
    f"POST {P}/members/{{member_id}}/decision": (f"{P}/members/2000000000/decision", BAD, BODY),
    f"POST {P}/teams": (f"{P}/teams", BAD, BODY),
    f"GET {P}/teams": (f"{P}/teams", {}, TOKEN),
    f"GET {P}/teams/{{team_id}}": (f"{P}/teams/{{team}}", {}, COMMUNITY_READ),
    f"POST {P}/items": (f"{P}/items", BAD, BODY),
    f"GET {P}/items": (f"{P}/items", {}, PUBLIC),
    f"GET {P}/items/{{item_id}}": (f"{P}/items/{{item}}", {}, PUBLIC),
    f"POST {P}/items/{{item_id}}/claims": (f"{P}/items/{{item}}/claims", {"json": {}}, NOT_A_MEMBER),
    f"GET {P}/claims": (f"{P}/claims", {"params": {"to_confirm": "true"}}, COMMUNITY_READ),
    # a demo claim of tomorrow: its community (and an admin) may release it, nobody else (the admin, first, does:
    # the manager then finds it released, a 409)
    f"POST {P}/claims/{{claim_id}}/release": (
        f"{P}/claims/{{claim}}/release",
        {},
        (GATE, 403, GATE, 403, 403, 403, 403, 401),
    ),
    f"POST {P}/claims/{{claim_id}}/sign-in": (f"{P}/claims/{{claim}}/sign-in", BAD, BODY),
    f"POST {P}/claims/{{claim_id}}/sign-out": (f"{P}/claims/{{claim}}/sign-out", BAD, BODY),
    # not signed in and out: the community gets a 409 asking for the minutes
    f"POST {P}/claims/{{claim_id}}/confirm": (
        f"{P}/claims/{{claim}}/confirm",
        {"json": {}},
        (GATE, 403, GATE, 403, 403, 403, 403, 401),
    ),
    f"POST {P}/tickets/{{ticket_id}}/handover": (f"{P}/tickets/{{ticket}}/handover", BAD, BODY),
    f"GET {P}/summary": (f"{P}/summary", IN_COMMUNITY, PUBLIC),
    f"GET {P}/points/rules": (f"{P}/points/rules", IN_COMMUNITY, PUBLIC),
    f"POST {P}/points/entries": (f"{P}/points/entries", BAD, BODY),
    f"GET {P}/points": (f"{P}/points", {}, TOKEN),
    f"GET {P}/points/balances": (f"{P}/points/balances", IN_COMMUNITY, LEDGER_READ),
    f"GET {P}/points/verify": (f"{P}/points/verify", IN_COMMUNITY, LEDGER_READ),
    f"GET {P}/goods": (f"{P}/goods", IN_COMMUNITY, PUBLIC),
    f"POST {P}/goods": (f"{P}/goods", BAD, BODY),
    f"POST {P}/redemptions": (f"{P}/redemptions", BAD, BODY),
    f"POST {P}/compounds/{{code}}/bodies": (f"{P}/compounds/{{compound}}/bodies", BAD, BODY),
    f"GET {P}/compounds/{{code}}/bodies": (f"{P}/compounds/{{compound}}/bodies", {}, COMMUNITY_READ),
    f"POST {P}/ratings": (f"{P}/ratings", BAD, BODY),
    f"GET {P}/ratings": (f"{P}/ratings", MONTH, TOKEN),
    f"GET {P}/property-scores": (f"{P}/property-scores", MONTH, (OK, OK, OK, 403, 403, 403, 403, 401)),
    f"POST {P}/meetings": (f"{P}/meetings", BAD, BODY),
    f"GET {P}/meetings": (f"{P}/meetings", {}, COMMUNITY_READ),
    "GET /maps/data/participation.geojson": ("/maps/data/participation.geojson", {"params": BBOX}, MAP_LAYER),
}
