"""`gridgov demo load --replace` after planners have worked on the demo: plans drawn on the old cells go
with them instead of blocking the reload (rolled back with the test)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data.demo_load import load_demo
from gis.models import GridCell
from gis.plans import ops
from gis.plans.catalog import create_plan
from gis.plans.commit import commit_plan
from gis.plans.models import BoundaryPlan
from gis.plans.validate import Rules


def test_replace_after_a_committed_plan_and_a_draft(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(GridCell).where(GridCell.valid_to.is_(None)))
    committed = create_plan(session, name="已提交")
    ops.generate(session, committed.id, "370102010005", 200, 300)
    commit_plan(session, committed.id, message="重划", rules=Rules(households_min=None, households_max=None))
    draft = create_plan(session, name="草案")
    ops.generate(session, draft.id, "370102010006", 200, 300)
    counts = load_demo(session, scale=1, seed=42, replace=True)
    assert counts["cells"] == before  # the demo's own cells again, no retired versions left
    assert session.scalar(select(func.count()).select_from(BoundaryPlan)) == 0


def test_replace_keeps_accounts_that_are_not_the_demo(session: Session) -> None:
    """L20: --replace removes the demo's accounts (the published password), not anyone else's."""
    from gis.auth import create_user, login
    from gis.models import User

    create_user(session, username="real-person", password="not-the-demo-pw", full_name="真人", role="manager")
    load_demo(session, scale=1, seed=42, replace=True)
    assert session.scalar(select(func.count()).select_from(User).where(User.username == "real-person")) == 1
    login(session, username="real-person", password="not-the-demo-pw")
    login(session, username="admin", password="gridgov-demo")  # the demo is back, with its accounts
