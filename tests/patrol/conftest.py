"""Patrol fixtures on the tiny synthetic community of tests/conftest.py (two cells sharing the edge at lon
100.01; compound 990000000001X001 = box(100.002, 30.002, 100.006, 30.006) in the left cell), and synthetic
tracks with known answers."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from gis.models import GridCell, User
from gis.patrol.models import PatrolAssignment
from gis.patrol.patrols import Fix
from gis.tickets.sla import SHANGHAI

COMPOUND = "990000000001X001"
BOX = (100.002, 30.002, 100.006, 30.006)
GATE = (100.004, 30.002)  # middle of the compound's south edge
OUTSIDE = (100.008, 30.008)  # left cell, outside the compound
M_PER_DEG_LAT = 110_852.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(30.004))

Maker = Callable[..., tuple[User, dict[str, str]]]


@dataclass
class PatrolArea:
    community: str
    left: str
    right: str
    worker: User
    worker_h: dict[str, str]
    other: User
    other_h: dict[str, str]
    manager: User
    manager_h: dict[str, str]
    admin_h: dict[str, str]
    resident_h: dict[str, str]


@pytest.fixture()
def parea(session: Session, tiny_area: dict[str, Any], make_user: Maker) -> PatrolArea:
    community = tiny_area["community"].code
    left, right = (c.code for c in tiny_area["cells"])
    worker, worker_h = make_user("grid_worker", jurisdiction=[left])
    other, other_h = make_user("grid_worker", jurisdiction=[left])
    manager, manager_h = make_user("manager", jurisdiction=[community])
    _, admin_h = make_user("admin")
    _, resident_h = make_user("resident", phone="13800000009")
    session.add_all([PatrolAssignment(compound_code=COMPOUND, user_id=u.id, valid_from=local(2024, 1, 1, 0))
                     for u in (worker, other)])  # fmt: skip
    # the synthetic cells were drawn "now": date them back so that the past days of the tests have them
    session.execute(update(GridCell).where(GridCell.code.in_([left, right])).values(valid_from=local(2024, 1, 1, 0)))
    session.commit()
    return PatrolArea(community, left, right, worker, worker_h, other, other_h, manager, manager_h, admin_h, resident_h)


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def ring_walk(start: datetime, minutes: float, *, inset_m: float = 40.0, step_s: int = 10) -> list[Fix]:
    """Walking a ring `inset_m` inside the compound's perimeter at ~1 m/s, a fix every `step_s`."""
    dx, dy = inset_m / M_PER_DEG_LON, inset_m / M_PER_DEG_LAT
    x0, y0, x1, y1 = BOX[0] + dx, BOX[1] + dy, BOX[2] - dx, BOX[3] - dy
    w, h = (x1 - x0) * M_PER_DEG_LON, (y1 - y0) * M_PER_DEG_LAT
    perim = 2 * (w + h)
    fixes = []
    for k in range(int(minutes * 60 / step_s) + 1):
        s = (k * step_s * 1.0) % perim
        if s < w:
            x, y = x0 + s / M_PER_DEG_LON, y0
        elif s < w + h:
            x, y = x1, y0 + (s - w) / M_PER_DEG_LAT
        elif s < 2 * w + h:
            x, y = x1 - (s - w - h) / M_PER_DEG_LON, y1
        else:
            x, y = x0, y1 - (s - 2 * w - h) / M_PER_DEG_LAT
        fixes.append(Fix(start + timedelta(seconds=k * step_s), x, y, accuracy_m=5.0))
    return fixes


def standing(start: datetime, minutes: float, at: tuple[float, float], *, jitter_m: float, step_s: int = 10,
             seed: int = 1) -> list[Fix]:  # fmt: skip
    """A phone lying still at `at`, its fixes jumping up to `jitter_m` around it."""
    rng = random.Random(seed)
    out = []
    for k in range(int(minutes * 60 / step_s) + 1):
        r, a = jitter_m * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        x = at[0] + r * math.cos(a) / M_PER_DEG_LON
        y = at[1] + r * math.sin(a) / M_PER_DEG_LAT
        out.append(Fix(start + timedelta(seconds=k * step_s), x, y, accuracy_m=8.0))
    return out


def line_walk(start: datetime, a: tuple[float, float], b: tuple[float, float], *, step_s: int = 10,
              speed_mps: float = 1.2) -> list[Fix]:  # fmt: skip
    length = math.hypot((b[0] - a[0]) * M_PER_DEG_LON, (b[1] - a[1]) * M_PER_DEG_LAT)
    n = max(1, int(length / speed_mps / step_s))
    return [
        Fix(
            start + timedelta(seconds=k * step_s),
            a[0] + (b[0] - a[0]) * k / n,
            a[1] + (b[1] - a[1]) * k / n,
            accuracy_m=5.0,
        )  # fmt: skip
        for k in range(n + 1)
    ]


def batches(fixes: list[Fix], size: int = 1000) -> list[list[Fix]]:
    return [fixes[k : k + size] for k in range(0, len(fixes), size)]
