"""Shared vocabulary of the route × role matrix (tests/api/test_route_matrix.py).

Each area of the product keeps its own routes' entries in a module of this package holding
``ENTRIES: dict[str, Entry]`` (and, when its routes need places of their own, ``places(session) -> dict``);
the matrix test collects every module here, so a new area adds a file instead of editing a shared one.
"""

from __future__ import annotations

from typing import Any

ROLES = ("admin", "planner", "manager", "grid_worker", "department", "property", "resident", "anonymous")
OK, F, GATE = "ok", "filtered", "gate"
COMMUNITY = "370102010001"

Expect = tuple[Any, Any, Any, Any, Any, Any, Any, Any]  # in the order of ROLES
PUBLIC: Expect = (OK, OK, OK, OK, OK, OK, OK, OK)
PUBLIC_GATE: Expect = (GATE,) * 8
TOKEN: Expect = (OK, OK, OK, OK, OK, OK, OK, 401)
SCOPED: Expect = (F, F, F, F, F, F, F, 401)
ADMIN: Expect = (OK, 403, 403, 403, 403, 403, 403, 401)
ADMIN_GATE: Expect = (GATE, 403, 403, 403, 403, 403, 403, 401)
PLAN_READ: Expect = (OK, OK, OK, 403, 403, 403, 403, 401)
PLAN_READ_GATE: Expect = (GATE, GATE, GATE, 403, 403, 403, 403, 401)
PLAN_WRITE: Expect = (OK, OK, 403, 403, 403, 403, 403, 401)
PLAN_WRITE_GATE: Expect = (GATE, GATE, 403, 403, 403, 403, 403, 401)
ABSENT: Expect = (404, 404, 404, 404, 404, 404, 404, 401)
# a feature in the manager's community, the grid worker's cell and the property company's compound
IN_ALL_SCOPES: Expect = (OK, OK, OK, OK, OK, OK, 404, 401)
# a feature outside the property company's compounds
NOT_PROPERTY: Expect = (OK, OK, OK, OK, OK, 404, 404, 401)
# the ticket: anchored in the manager's community and the worker's cell, routed to the department
TICKET: Expect = (OK, OK, OK, OK, OK, 404, 404, 401)
TICKET_GATE: Expect = (GATE, GATE, GATE, GATE, GATE, 404, 404, 401)

BAD = {"json": {}}  # an incomplete body: 422 once past the checks
EMPTY_FILE = {"files": {"file": ("empty.csv", b"", "text/csv")}}
ACCEPT = {"json": {"action": "accept"}}  # the ticket was accepted already: 409 once past the checks
TILE = "/tiles/cells/14/13517/6330.pbf"  # over the demo
BBOX = {"bbox": "117.0,36.6,117.1,36.7"}


# "METHOD path template" -> (url with {placeholders}, request keywords, expected outcome per role)
Entry = tuple[str, dict[str, Any], Expect]
