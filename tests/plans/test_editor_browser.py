"""The plan editor page in a real Chromium: it loads with local assets only, draws the draft cells of a
generated plan, and the validate button lists the plan's problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from gis.plans import ops
from gis.plans.models import BoundaryPlan
from gis.plans.service import create_plan
from tests.maps.test_browser import CHROMIUM, browser, open_page, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")

COMMUNITY = "370102010003"


@pytest.fixture()
def committed_plan(engine: Engine) -> Iterator[int]:
    """A draft plan the live server can see (committed), removed afterwards; live cells are untouched."""
    with Session(engine) as s:
        plan = create_plan(s, name="编辑器测试")
        ops.generate(s, plan.id, COMMUNITY, 200, 300)
        s.commit()
        plan_id = plan.id
    yield plan_id
    with Session(engine) as s:
        s.execute(delete(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        s.commit()


def test_editor_draws_the_draft_and_validates(browser: Any, server: str, committed_plan: int) -> None:  # noqa: F811
    page, watch = open_page(browser, f"{server}/plans/{committed_plan}/edit", token="browser-test-token")
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 10", timeout=10_000)
    assert watch.errors == [] and watch.outside(server) == [], (watch.errors, watch.requests)
    assert any(f"/v1/plans/{committed_plan}/features?scope=draft" in u for u in watch.requests)
    page.locator("#validate").click()
    page.wait_for_function("document.querySelector('#status').textContent.length > 0", timeout=10_000)
    status = page.locator("#status").inner_text()
    assert "可以提交" in status or "错误" in status
    assert watch.errors == []
    shot(page, "plan-editor.png")
