"""Demo patrols: a week of patrol history for the grid workers of the first demo communities, written through
the real patrol functions (start, fix batches, check-ins, 五必查 answers, household visits, nightly job).

Each worker-day walks the streets around the worker's cell (the cell's edges are the demo street graph),
enters the assigned compound and walks a ring inside it for a drawn number of minutes — most workers meet
the 2 h 定岗 rule, some do not — and some 四必到 households are missed. Deterministic for a seed; a second
run adds nothing."""

from __future__ import annotations

import logging
import math
import random
from datetime import datetime, timedelta

from shapely import wkb
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.models import AdminArea, CellStaff, Compound, GridCell, User, utcnow
from gis.patrol import access
from gis.patrol.models import MustVisitHousehold, Patrol, PatrolAssignment, PatrolLog
from gis.patrol.patrols import Fix, add_fixes, end_patrol, start_patrol
from gis.patrol.tasks import nightly_patrols
from gis.patrol.visits import answer_checklist, check_in

log = logging.getLogger(__name__)

DAYS = 7
COMMUNITIES = 1
CELLS = 10  # the workers of the first cells of the first community patrol (keeps `make demo` fast)
STEP_S = 60
M_PER_DEG_LAT = 110_900.0


def _ring(poly_coords: list[tuple[float, float]], inset: float) -> list[tuple[float, float]]:
    """The polygon's vertices pulled `inset` (0–0.5) of the way to its centroid."""
    cx = sum(x for x, _ in poly_coords) / len(poly_coords)
    cy = sum(y for _, y in poly_coords) / len(poly_coords)
    return [(x + (cx - x) * inset, y + (cy - y) * inset) for x, y in poly_coords]


def _walk(path: list[tuple[float, float]], start: datetime, seconds: float, speed: float = 1.1) -> list[Fix]:
    """Fixes every STEP_S walking along a closed path (looping) for `seconds`."""
    segs = list(zip(path, path[1:] + path[:1], strict=True))
    lens = []
    for (x0, y0), (x1, y1) in segs:
        kx = M_PER_DEG_LAT * math.cos(math.radians(y0))
        lens.append(math.hypot((x1 - x0) * kx, (y1 - y0) * M_PER_DEG_LAT) or 1.0)
    total = sum(lens)
    out = []
    for k in range(int(seconds // STEP_S) + 1):
        s = (k * STEP_S * speed) % total
        for ((x0, y0), (x1, y1)), length in zip(segs, lens, strict=True):
            if s <= length:
                f = s / length
                out.append(Fix(start + timedelta(seconds=k * STEP_S), x0 + (x1 - x0) * f, y0 + (y1 - y0) * f,
                               accuracy_m=6.0))  # fmt: skip
                break
            s -= length
    return out


def load_demo_patrols(session: Session, *, seed: int = 42, now: datetime | None = None) -> int:
    """A week of patrols (returns how many patrols were added; 0 when they exist)."""
    if session.scalar(select(func.count()).select_from(Patrol)):
        return 0
    # leftovers of a replaced demo (households and logs do not hang off users)
    session.execute(delete(MustVisitHousehold))
    session.execute(delete(PatrolLog))
    rng = random.Random(seed)
    now = now or utcnow()
    communities = list(
        session.execute(
            select(AdminArea.id).where(AdminArea.level == "community").order_by(AdminArea.code).limit(COMMUNITIES)
        ).scalars()
    )
    cells = list(
        session.execute(
            select(GridCell.code, GridCell.geom)
            .where(GridCell.community_id.in_(communities), GridCell.valid_to.is_(None))
            .order_by(GridCell.code)
            .limit(CELLS)
        )
    )
    workers = {
        code: list(session.scalars(
            select(User).join(CellStaff, CellStaff.user_id == User.id)
            .where(CellStaff.cell_code == code, CellStaff.duty == "worker").order_by(User.id)
        ))
        for code, _ in cells
    }  # fmt: skip
    compounds = {
        code: list(
            session.execute(
                select(Compound.code, Compound.geom).where(Compound.cell_code == code).order_by(Compound.code)
            )
        )  # fmt: skip
        for code, _ in cells
    }
    codes = [c for c, _ in cells]
    # 定岗: each compound gets its cell's workers, plus the next cell's first worker when it has only one;
    # in force since before the demo week, so every past day of it is judged against them
    since, _ = access.day_bounds(access.local_day(now) - timedelta(days=DAYS + 1))
    rows = []
    for i, code in enumerate(codes):
        team = workers[code][:2]
        if len(team) < 2 and workers[codes[(i + 1) % len(codes)]]:
            team.append(workers[codes[(i + 1) % len(codes)]][0])
        rows += [{"compound_code": k, "user_id": u.id, "valid_from": since} for k, _ in compounds[code] for u in team]
    if rows:
        session.execute(insert(PatrolAssignment).values(rows).on_conflict_do_nothing())
    # 四必到: two households per cell
    kinds = ["elderly_alone", "disabled", "low_income", "left_behind_child"]
    households: dict[str, list[int]] = {}
    for code in codes:
        comp = compounds[code][0][0] if compounds[code] else None
        hs = [MustVisitHousehold(cell_code=code, compound_code=comp, building=f"{rng.randint(1, 12)}号楼",
                                 unit=f"{rng.randint(1, 4)}单元", kind=rng.choice(kinds), every_days=3)
              for _ in range(2)]  # fmt: skip
        session.add_all(hs)
        session.flush()
        households[code] = [h.id for h in hs]
    today = access.local_day(now)
    added = 0
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        day_start, _ = access.day_bounds(day)
        for code, geom in cells:
            ring = [tuple(p) for p in wkb.loads(bytes(geom.data)).geoms[0].exterior.coords[:-1]]
            for w in workers[code]:
                if not compounds[code] or rng.random() < 0.1:  # a day off
                    continue
                comp_code, comp_geom = compounds[code][0]
                comp_ring = [tuple(p) for p in wkb.loads(bytes(comp_geom.data)).geoms[0].exterior.coords[:-1]]
                t0 = day_start + timedelta(hours=8, minutes=rng.randint(0, 60))
                inside_min = rng.choice([130, 140, 125, 150, 95, 70]) + rng.randint(0, 5)
                street = _walk(ring, t0, 25 * 60)
                site = _walk(_ring(comp_ring, 0.3), street[-1].t + timedelta(seconds=STEP_S), inside_min * 60)
                back_out = _walk(ring, site[-1].t + timedelta(seconds=STEP_S), 20 * 60)
                fixes = street + site + back_out
                p = start_patrol(session, w, client_key=f"demo-{day}-{w.id}", at=fixes[0].t)
                for k in range(0, len(fixes), 500):
                    add_fixes(session, w, p.id, batch_key=f"b{k}", fixes=fixes[k : k + 500], now=now)
                mid = site[len(site) // 2]
                due = [h for h in households[code] if rng.random() < 0.6]
                visit = check_in(session, w, p.id, client_key="c1", lon=mid.lon, lat=mid.lat, t=mid.t,
                                 compound_code=comp_code, households=due)  # fmt: skip
                answer_checklist(session, w, visit.id, client_key="a1",
                                 answers=[{"item": i, "status": "ok"} for i in
                                          ("sanitation", "safety", "facilities", "residents", "civility")])  # fmt: skip
                end_patrol(session, w, p.id, at=fixes[-1].t)
                added += 1
        nightly_patrols(session, day)
    log.info("demo patrols: %d over %d days", added, DAYS)
    return added
