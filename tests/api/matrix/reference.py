"""Route × role entries for reference data (issue 13): accounts, organizations, cell staff, compound details
and 责任公示牌, resource writes, opening hours, the party hierarchy and the audit trail.

Admins write everywhere, managers in their community (the matrix manager's community is COMMUNITY, where the
shared compound and cell lie); every other role gets 403. What a manager may not touch outside their community
is tested in tests/reference/test_api.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.models import Organization, ServiceResource
from tests.api.matrix import (
    ADMIN,
    ADMIN_GATE,
    BAD,
    COMMUNITY,
    EMPTY_FILE,
    GATE,
    OK,
    PUBLIC,
    PUBLIC_GATE,
    Entry,
    Expect,
    F,
)

WRITER: Expect = (OK, 403, OK, 403, 403, 403, 403, 401)
WRITER_F: Expect = (OK, 403, F, 403, 403, 403, 403, 401)
WRITER_GATE: Expect = (GATE, 403, GATE, 403, 403, 403, 403, 401)
WRITER_ABSENT: Expect = (404, 403, 404, 403, 403, 403, 403, 401)
ADMIN_ONLY_ABSENT: Expect = (404, 403, 403, 403, 403, 403, 403, 401)
# the `other` account is a resident: an admin manages it, a manager does not see it
ADMIN_NOT_MANAGER: Expect = (OK, 403, 404, 403, 403, 403, 403, 401)
EMPTY: dict[str, Any] = {"json": {}}  # a partial update that changes nothing: 200 once past the checks


def places(s: Session) -> dict[str, Any]:
    department = s.scalar(
        select(Organization.code).where(Organization.kind == "department").order_by(Organization.code)
    )
    resource = s.scalar(
        select(ServiceResource.code)
        .where(ServiceResource.cell_code.startswith(COMMUNITY))
        .order_by(ServiceResource.code)
    )
    return {"org": department, "community_resource": resource}


ENTRIES: dict[str, Entry] = {
    "GET /v1/users": ("/v1/users", {}, WRITER_F),
    "POST /v1/users": ("/v1/users", BAD, WRITER_GATE),
    "GET /v1/users/{username}": ("/v1/users/{other}", {}, ADMIN_NOT_MANAGER),
    "PATCH /v1/users/{username}": ("/v1/users/{other}", EMPTY, ADMIN_NOT_MANAGER),
    "POST /v1/users/{username}/disable": ("/v1/users/{other}/disable", {}, ADMIN_NOT_MANAGER),
    "POST /v1/users/{username}/enable": ("/v1/users/{other}/enable", {}, ADMIN_NOT_MANAGER),
    "POST /v1/users/{username}/password": ("/v1/users/{other}/password", BAD, WRITER_GATE),
    "GET /v1/organizations": ("/v1/organizations", {}, WRITER),
    "POST /v1/organizations": ("/v1/organizations", BAD, ADMIN_GATE),
    "GET /v1/organizations/{code}": ("/v1/organizations/{org}", {}, WRITER),
    "PATCH /v1/organizations/{code}": ("/v1/organizations/{org}", EMPTY, ADMIN),
    "POST /v1/organizations/{code}/disable": ("/v1/organizations/{org}/disable", {}, ADMIN),
    "POST /v1/organizations/{code}/enable": ("/v1/organizations/{org}/enable", {}, ADMIN),
    "POST /v1/resources": ("/v1/resources", BAD, WRITER_GATE),
    "PATCH /v1/resources/{code}": ("/v1/resources/{community_resource}", EMPTY, WRITER),
    "DELETE /v1/resources/{code}": ("/v1/resources/R-NONE", {}, WRITER_ABSENT),
    "POST /v1/opening-hours/check": ("/v1/opening-hours/check", BAD, PUBLIC_GATE),
    "GET /v1/party-units": ("/v1/party-units", {}, WRITER_F),
    "POST /v1/party-units": ("/v1/party-units", BAD, WRITER_GATE),
    "PATCH /v1/party-units/{code}": ("/v1/party-units/NONE", EMPTY, WRITER_ABSENT),
    "POST /v1/party-units/{code}/disable": ("/v1/party-units/NONE/disable", {}, WRITER_ABSENT),
    "POST /v1/party-units/{code}/enable": ("/v1/party-units/NONE/enable", {}, WRITER_ABSENT),
    "GET /v1/audit/reference-changes": ("/v1/audit/reference-changes", {}, ADMIN),
    "POST /v1/audit/reference-changes/{change_id}/revert": (
        "/v1/audit/reference-changes/2000000000/revert",
        {},
        ADMIN_ONLY_ABSENT,
    ),
    "GET /v1/cell-staff": ("/v1/cell-staff", {}, WRITER_F),
    "PUT /v1/cells/{code}/staff/{username}": ("/v1/cells/{cell}/staff/{other}", BAD, WRITER_GATE),
    "DELETE /v1/cells/{code}/staff/{username}": ("/v1/cells/{cell}/staff/nobody", {}, WRITER_ABSENT),
    "GET /v1/compounds/{code}/details": ("/v1/compounds/{compound}/details", {}, WRITER),
    "PATCH /v1/compounds/{code}/details": ("/v1/compounds/{compound}/details", EMPTY, WRITER),
    "PUT /v1/compounds/{code}/contacts/{duty}": ("/v1/compounds/{compound}/contacts/secretary", BAD, WRITER_GATE),
    "DELETE /v1/compounds/{code}/contacts/{duty}": ("/v1/compounds/{compound}/contacts/police", {}, WRITER),
    "POST /v1/compounds/{code}/contacts/{duty}/photo": (
        "/v1/compounds/{compound}/contacts/secretary/photo",
        EMPTY_FILE,
        WRITER_GATE,
    ),
    "PATCH /v1/buildings/{code}/details": ("/v1/buildings/{building}/details", EMPTY, WRITER),
    "GET /v1/compounds/{code}/contacts/history": ("/v1/compounds/{compound}/contacts/history", {}, WRITER),
    # the console's pages are shells holding no data (their script reads /v1 with the user's token)
    "GET /admin": ("/admin", {}, PUBLIC),
    "GET /admin/{section}": ("/admin/users", {}, PUBLIC),
    "GET /v1/contact-photos/{name}": ("/v1/contact-photos/" + "0" * 64 + ".jpg", {}, (404,) * 8),
}
