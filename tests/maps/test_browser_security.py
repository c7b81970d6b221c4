"""Security review H1 and L5 in a real Chromium, against a live server with real log-ins:
- a cell named like a script (from a plan edit, as from a boundary file) shows as text in the tooltip of the plan
  diff map and, once the plan is committed, of the public community map: it never runs;
- every page works under the Content-Security-Policy: no `securitypolicyviolation`, no console error;
- a `#token=` link does not silently replace the token of the user already logged in (token fixation).

The synthetic community, its plan, the users and their tokens are committed (the live server must see them) and
removed afterwards; the demo's live cells are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from shapely.geometry import Polygon
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from api.app import create_app
from gis.auth import create_user, login
from gis.models import AdminArea, Compound, GridCell, User
from gis.plans.catalog import create_plan
from gis.plans.commit import commit_plan
from gis.plans.draft import FeatureInput, ensure_base
from gis.plans.edits import put_features
from gis.plans.models import BoundaryPlan, PlanCommit
from gis.settings import Settings
from gis.tickets.models import Ticket
from tests.browser import serve
from tests.conftest import ewkt
from tests.conftest import test_database_url as database_url
from tests.maps.test_browser import CHROMIUM, Watch, browser, open_page, wait_until  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")

PAYLOAD = '<img src=x onerror="window.__xss=1">'
SYNTHETIC = "990000000078"  # a community far from the demo
OX, OY, STEP = 102.0, 32.0, 0.01

# Every violation of the page's CSP, kept where the test can read it (installed before any script of the page).
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber
  );
});
"""


@pytest.fixture(scope="module")
def live_server(engine: Engine) -> Iterator[str]:
    with serve(create_app(Settings.for_tests(database_url()))) as url:
        yield url


@pytest.fixture(scope="module")
def tokens(engine: Engine) -> Iterator[dict[str, str]]:
    """Tokens of an admin and of a grid manager (two users, for the fixation test)."""
    made: dict[str, str] = {}
    ids = []
    with Session(engine) as s:
        for role in ("admin", "manager"):
            user = create_user(
                s, username=f"sec-test-{role}", password="pw-sec-test", full_name=f"安全{role}", role=role
            )
            made[role], _ = login(s, username=user.username, password="pw-sec-test")
            ids.append(user.id)
        s.commit()
    yield made
    with Session(engine) as s:
        s.execute(delete(User).where(User.id.in_(ids)))
        s.commit()


def _polygon(x: float) -> Polygon:
    return Polygon([(x, OY), (x + STEP, OY), (x + STEP, OY + STEP), (x, OY + STEP)])


def _square(x: float) -> str:
    return ewkt(_polygon(x))


@pytest.fixture()
def script_named_plan(engine: Engine) -> Iterator[int]:
    """A synthetic community of two live cells, and a draft plan renaming one of them to a script."""
    with Session(engine) as s:
        community = AdminArea(code=SYNTHETIC, name="安全测试社区", level="community", geom=_square(OX))
        s.add(community)
        s.flush()
        s.add(GridCell(code=f"{SYNTHETIC}001", name="安全测试网格", community_id=community.id, geom=_square(OX)))
        plan = create_plan(s, name="安全测试方案")
        ensure_base(s, plan, SYNTHETIC)
        put_features(s, plan, "cell", [FeatureInput(f"{SYNTHETIC}001", _polygon(OX), name=PAYLOAD)])
        s.commit()
        plan_id, community_id = plan.id, community.id
    yield plan_id
    with Session(engine) as s:
        s.execute(delete(PlanCommit).where(PlanCommit.plan_id == plan_id))
        s.execute(delete(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        s.execute(delete(GridCell).where(GridCell.community_id == community_id))
        s.execute(delete(AdminArea).where(AdminArea.id == community_id))
        s.commit()


def _open(browser: Any, url: str, *, token: str | None = None) -> tuple[Any, Watch]:  # noqa: F811
    return open_page(browser, url, token=token, scripts=(CSP_WATCH,))


def _hover_cell(page: Any) -> str:
    """Move the mouse onto the map feature whose name is the payload and return its tooltip's text. The mouse
    goes to the middle of its south edge: an outline without fill (the community map's cells) is hovered there."""
    wait_until(page, "window.gg && gg.map", timeout=15_000)
    point = page.evaluate(
        """() => {
          let found = null;
          gg.map.eachLayer(l => { if (!found && l.feature && l.feature.properties && l.getBounds &&
                                      String(l.feature.properties.name).includes("img src")) found = l; });
          if (!found) return null;
          const b = found.getBounds();
          gg.map.fitBounds(b, {animate: false, padding: [40, 40]});
          const p = gg.map.latLngToContainerPoint([b.getSouth(), b.getCenter().lng]);
          const r = gg.map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }"""
    )
    assert point, "no feature named like the payload on the map"
    for dx in (0, 3, 6, 9):  # a dashed outline: a dash, not a gap
        page.mouse.move(point[0] + dx - 8, point[1] - 8)
        page.mouse.move(point[0] + dx, point[1], steps=4)
        page.wait_for_timeout(200)
        if page.locator(".leaflet-tooltip").count():
            return str(page.locator(".leaflet-tooltip").first.inner_text())
    raise AssertionError("hovering the feature opened no tooltip")


def test_a_script_named_cell_stays_text_on_the_diff_map_and_after_commit(
    browser: Any,  # noqa: F811
    live_server: str,
    tokens: dict[str, str],
    script_named_plan: int,
    engine: Engine,
) -> None:
    page, watch = _open(browser, f"{live_server}/maps/plans/{script_named_plan}#token={tokens['admin']}")
    wait_until(page, "document.querySelectorAll('.leaflet-overlay-pane path').length > 0", timeout=15_000)
    assert PAYLOAD in _hover_cell(page), "the name shows as text"
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__csp") == [] and watch.errors == [], (page.evaluate("window.__csp"), watch.errors)
    page.context.close()

    with Session(engine) as s:
        commit_plan(s, script_named_plan, message="安全测试：改名")
        s.commit()
    page, watch = _open(browser, f"{live_server}/maps/communities/{SYNTHETIC}")
    assert PAYLOAD in _hover_cell(page)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__csp") == [] and watch.errors == [], (page.evaluate("window.__csp"), watch.errors)
    page.context.close()


def test_every_page_works_under_the_content_security_policy(
    browser: Any,  # noqa: F811
    live_server: str,
    tokens: dict[str, str],
    engine: Engine,
) -> None:
    with Session(engine) as s:
        compound = s.scalar(select(Compound.code).where(~Compound.code.startswith("99")).order_by(Compound.code))
        community = s.scalar(
            select(AdminArea.code)
            .where(AdminArea.level == "community", ~AdminArea.code.startswith("99"))
            .order_by(AdminArea.code)
        )
        ticket = s.scalar(select(Ticket.id).order_by(Ticket.id))
        plan = create_plan(s, name="CSP 测试方案")
        s.commit()
        plan_id = plan.id
    ready = {
        f"/maps/compounds/{compound}": "document.querySelectorAll('.leaflet-overlay-pane path').length >= 3",
        f"/maps/communities/{community}": "document.querySelectorAll('.leaflet-overlay-pane path').length > 3",
        "/maps/operations": (
            "window.gg && gg.pending === 0 && document.querySelectorAll('.leaflet-overlay-pane path').length > 0"
        ),
        f"/maps/tickets/{ticket}": "document.querySelector('#gg-history .gg-timeline').children.length > 0",
        f"/plans/{plan_id}/edit": "window.planEditor && planEditor.ready && planEditor.busy === 0",
        f"/maps/plans/{plan_id}": "document.body.textContent.includes('变化概况')",
        "/docs": "document.querySelectorAll('.opblock').length > 10",
    }
    try:
        for path, condition in ready.items():
            page, watch = _open(browser, live_server + path, token=tokens["admin"])
            wait_until(page, condition, timeout=20_000)
            page.wait_for_timeout(200)
            assert page.evaluate("window.__csp") == [], (path, page.evaluate("window.__csp"))
            assert watch.errors == [], (path, watch.errors)
            assert watch.outside(live_server) == [], path
            page.context.close()
    finally:
        with Session(engine) as s:
            s.execute(delete(BoundaryPlan).where(BoundaryPlan.id == plan_id))
            s.commit()


def test_a_token_link_does_not_silently_replace_the_stored_token(
    browser: Any,  # noqa: F811
    live_server: str,
    tokens: dict[str, str],
) -> None:
    """Token fixation: someone else's link (#token=…) opened by a logged-in user asks first; declined, the user
    stays themself; accepted, the link's token is kept. Without a stored token the link logs in as before."""
    url = f"{live_server}/maps/operations#token={tokens['manager']}"
    for accept, kept in ((False, tokens["admin"]), (True, tokens["manager"])):
        context = browser.new_context()
        context.add_init_script(
            f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', 1);"
            f" localStorage.setItem('gridgov.token', {tokens['admin']!r}); }}"
        )
        page = context.new_page()
        asked: list[str] = []

        def answer(dialog: Any, accept: bool = accept, asked: list[str] = asked) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.on("dialog", answer)
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert len(asked) == 1 and "登录" in asked[0], asked
        assert page.evaluate("localStorage.getItem('gridgov.token')") == kept
        assert "token" not in page.url, "the token leaves the address bar either way"
        context.close()

    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda d: pytest.fail(f"no question without a stored token: {d.message}"))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("localStorage.getItem('gridgov.token')") == tokens["manager"]
    context.close()
