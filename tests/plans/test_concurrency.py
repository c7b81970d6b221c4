"""Two planners commit plans on the same community at the same moment: one wins, the other gets 409.

Real transactions on two connections (the row lock on the community serialises them); everything this test
commits lives in a synthetic community far from the demo and is deleted afterwards."""

from __future__ import annotations

import threading

from shapely.geometry import box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.errors import Conflict
from gis.models import AdminArea, GridCell
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan
from gis.plans.validate import Rules
from tests.conftest import ewkt

COMMUNITY = "990000000077"
LOOSE = Rules(households_min=None, households_max=None)


def _cleanup(engine: Engine, plan_ids: list[int]) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plan_commits WHERE plan_id = ANY(:ids)"), {"ids": plan_ids})
        conn.execute(text("DELETE FROM boundary_plans WHERE id = ANY(:ids)"), {"ids": plan_ids})
        conn.execute(text("DELETE FROM grid_cells WHERE code LIKE :p"), {"p": COMMUNITY + "%"})
        conn.execute(text("DELETE FROM admin_areas WHERE code = :c"), {"c": COMMUNITY})


def test_concurrent_commits_one_wins_one_conflicts(engine: Engine) -> None:
    ox, oy = 101.0, 31.0
    left, right = box(ox, oy, ox + 0.01, oy + 0.01), box(ox + 0.01, oy, ox + 0.02, oy + 0.01)
    plan_ids: list[int] = []
    try:
        with Session(engine) as s:
            area = AdminArea(code=COMMUNITY, name="并发测试社区", level="community", geom=ewkt(left.union(right)))
            s.add(area)
            s.flush()
            s.add_all(
                [
                    GridCell(code=COMMUNITY + "001", name="左", community_id=area.id, geom=ewkt(left)),
                    GridCell(code=COMMUNITY + "002", name="右", community_id=area.id, geom=ewkt(right)),
                ]
            )
            s.flush()
            for shift in (0.002, -0.002):  # two different redraws of the shared edge
                plan = BoundaryPlan(name=f"并发 {shift}")
                s.add(plan)
                s.flush()
                edge = ox + 0.01 + shift
                put_features(
                    s,
                    plan,
                    "cell",
                    [
                        FeatureInput(COMMUNITY + "001", box(ox, oy, edge, oy + 0.01)),
                        FeatureInput(COMMUNITY + "002", box(edge, oy, ox + 0.02, oy + 0.01)),
                    ],
                )
                plan_ids.append(plan.id)
            s.commit()

        barrier = threading.Barrier(2)
        outcome: dict[int, str] = {}

        def commit(plan_id: int) -> None:
            with Session(engine) as s:
                barrier.wait()
                try:
                    commit_plan(s, plan_id, message=f"plan {plan_id}", rules=LOOSE)
                    s.commit()
                    outcome[plan_id] = "committed"
                except Conflict:
                    s.rollback()
                    outcome[plan_id] = "409"

        threads = [threading.Thread(target=commit, args=(pid,)) for pid in plan_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcome.values()) == ["409", "committed"]
        with engine.connect() as conn:
            live = conn.execute(
                text("SELECT count(*) FROM grid_cells WHERE code LIKE :p AND valid_to IS NULL"), {"p": COMMUNITY + "%"}
            ).scalar()
            versions = conn.execute(text("SELECT count(*) FROM grid_cells WHERE code LIKE :p"), {"p": COMMUNITY + "%"})
            assert live == 2 and versions.scalar() == 4  # one commit's versions, not two
    finally:
        _cleanup(engine, plan_ids)
