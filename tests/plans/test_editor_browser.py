"""The plan editor in a real Chromium, as a planner (规划员) uses it: select a cell (only it gets vertex handles),
edit its name and households, split it by households and by a drawn line, merge, draw a new cell (its code a
fresh one, never a retired cell's), remove and revert (validation shows the gap meanwhile), open the diff map by
its link, import a file with progress and commit; start an empty plan on a picked community; see compounds and
communities as outlines, pick a compound and redraw it; the configured basemap under the cells (GCJ-02 shifted
both ways). Local assets only, no console error, no request to an outside host (tiles of a configured outside
basemap are answered inside the browser).

Unlike tests/maps/test_browser.py the server here runs with real authentication: a planner is created and
logs in, because commits and imports record who made them. Plans, users and the synthetic community are
committed (the live server must see them) and removed afterwards; the demo's live cells are never committed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import shapely
import uvicorn
from fastapi import FastAPI
from shapely.geometry import Polygon, mapping
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from api.app import create_app
from gis.auth import create_user, login
from gis.crs import wgs84_to_gcj02
from gis.models import AdminArea, GridCell, User
from gis.plans import ops
from gis.plans.catalog import create_plan
from gis.plans.draft import DraftFeature, draft_features, ensure_base, next_codes
from gis.plans.models import BoundaryPlan, PlanCommit
from gis.settings import ROOT, Settings
from tests.conftest import ewkt
from tests.conftest import test_database_url as database_url
from tests.maps.test_browser import CHROMIUM, OUT, Watch, browser, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")

COMMUNITY = "370102010003"
SYNTHETIC = "990000000077"  # a community far from the demo, for the import and the commit
HANDLES = ".leaflet-marker-pane .marker-icon:not(.marker-icon-middle)"


# --- fixtures: a live server with real logins, a planner, plans ---------------------------------------------


@pytest.fixture(scope="module")
def live_app(engine: Engine) -> Iterator[tuple[str, FastAPI]]:
    """The app served by uvicorn on a free port, and the app (tests may swap its settings)."""
    app = create_app(Settings.for_tests(database_url()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def live_server(live_app: tuple[str, FastAPI]) -> str:
    return live_app[0]


@contextmanager
def basemap(app: FastAPI, value: str) -> Iterator[None]:
    """The live app configured with another basemap (GRIDGOV_BASEMAP) for the duration."""
    before = app.state.settings
    app.state.settings = before.model_copy(update={"basemap": value})
    try:
        yield
    finally:
        app.state.settings = before


@pytest.fixture(scope="module")
def planner_token(engine: Engine) -> Iterator[str]:
    with Session(engine) as s:
        user = create_user(
            s, username="editor-test-planner", password="pw-editor", full_name="规划测试", role="planner"
        )
        token, _ = login(s, username=user.username, password="pw-editor")
        s.commit()
        user_id = user.id
    yield token
    with Session(engine) as s:
        s.execute(delete(User).where(User.id == user_id))  # tokens go with it (ON DELETE CASCADE)
        s.commit()


def _drop_plan(engine: Engine, plan_id: int) -> None:
    with Session(engine) as s:
        s.execute(delete(PlanCommit).where(PlanCommit.plan_id == plan_id))
        s.execute(delete(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        s.commit()


@pytest.fixture()
def committed_plan(engine: Engine) -> Iterator[int]:
    """A draft plan that starts from a demo community's live cells, which the live server can see (committed to
    the database); removed afterwards. Live cells are untouched."""
    with Session(engine) as s:
        plan = create_plan(s, name="编辑器测试")
        ensure_base(s, plan, COMMUNITY)
        s.commit()
        plan_id = plan.id
    yield plan_id
    _drop_plan(engine, plan_id)


@pytest.fixture()
def generated_plan(engine: Engine) -> Iterator[int]:
    """A draft plan redrawing a demo community by household counts (every cell changes)."""
    with Session(engine) as s:
        plan = create_plan(s, name="编辑器测试（生成）")
        ops.generate(s, plan.id, COMMUNITY, 200, 300)
        s.commit()
        plan_id = plan.id
    yield plan_id
    _drop_plan(engine, plan_id)


@pytest.fixture()
def empty_plan(engine: Engine) -> Iterator[int]:
    """A new plan: no community, no cells."""
    with Session(engine) as s:
        plan = create_plan(s, name="空方案测试")
        s.commit()
        plan_id = plan.id
    yield plan_id
    _drop_plan(engine, plan_id)


@pytest.fixture()
def retired_code(engine: Engine) -> Iterator[str]:
    """A cell of the demo community retired by an earlier commit, with the code after every live one: a new cell
    must not take it."""
    with Session(engine) as s:
        community = s.scalar(select(AdminArea).where(AdminArea.code == COMMUNITY))
        assert community is not None
        live = s.scalars(select(GridCell.code).where(GridCell.code.like(COMMUNITY + "%"))).all()
        code = f"{COMMUNITY}{max(int(c[12:]) for c in live) + 1:03d}"
        old = GridCell(
            code=code,
            name="已撤销网格",
            community_id=community.id,
            geom=ewkt(_ring(OX, OX + STEP)),  # where it lay does not matter
            valid_from=datetime(2020, 1, 1, tzinfo=UTC),
            valid_to=datetime(2021, 1, 1, tzinfo=UTC),
        )
        s.add(old)
        s.commit()
        row_id = old.id
    yield code
    with Session(engine) as s:
        s.execute(delete(GridCell).where(GridCell.id == row_id))
        s.commit()


# The synthetic community: two square cells; the import moves their shared edge east by a fifth of a cell.
# Every edge carries the vertices of both versions, so that the coverage checks (done in a local metric
# projection, where an edge between two far vertices bends) see shared edges vertex for vertex.
OX, OY, STEP = 101.0, 31.0, 0.01
EDGES = (OX + STEP, OX + 1.2 * STEP)  # the live shared edge, the imported one


def _ring(x0: float, x1: float) -> Polygon:
    xs = sorted({x0, x1, *(x for x in EDGES if x0 < x < x1)})
    return Polygon([(x, OY) for x in xs] + [(x, OY + STEP) for x in reversed(xs)])


@pytest.fixture()
def synthetic_plan(engine: Engine) -> Iterator[int]:
    """An empty plan, and a community of two live cells far from the demo that it may commit: the commit
    changes only these, and everything is removed afterwards."""
    with Session(engine) as s:
        community = AdminArea(
            code=SYNTHETIC, name="编辑器测试社区", level="community", geom=ewkt(_ring(OX, OX + 2 * STEP))
        )
        s.add(community)
        s.flush()
        for i, (x0, x1) in enumerate([(OX, EDGES[0]), (EDGES[0], OX + 2 * STEP)], start=1):
            s.add(
                GridCell(
                    code=f"{SYNTHETIC}00{i}", name=f"测试第{i}网格", community_id=community.id, geom=ewkt(_ring(x0, x1))
                )
            )
        plan = create_plan(s, name="导入与提交测试")
        s.commit()
        plan_id, community_id = plan.id, community.id
    yield plan_id
    _drop_plan(engine, plan_id)
    with Session(engine) as s:
        s.execute(delete(GridCell).where(GridCell.community_id == community_id))
        s.execute(delete(AdminArea).where(AdminArea.id == community_id))
        s.commit()


# --- helpers ---------------------------------------------------------------------------------------------------


def draft(engine: Engine, plan_id: int) -> dict[str, DraftFeature]:
    """The plan's draft as the API sees it (removed cells included, status live/add/change/remove)."""
    with Session(engine) as s:
        plan = s.scalar(select(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        assert plan is not None
        return {c.code: c for c in draft_features(s, plan, "cell")}


def compounds_of(engine: Engine, plan_id: int) -> dict[str, DraftFeature]:
    """The plan's compounds as drafted (status live/add/change/remove)."""
    with Session(engine) as s:
        plan = s.scalar(select(BoundaryPlan).where(BoundaryPlan.id == plan_id))
        assert plan is not None
        return {a.code: a for a in draft_features(s, plan, "compound")}


def present(cells: dict[str, DraftFeature]) -> list[str]:
    return sorted(code for code, c in cells.items() if c.status != "remove")


def vertices(cell: DraftFeature) -> int:
    """Vertex handles geoman shows: every ring's points without the closing one."""
    assert cell.geom is not None
    return sum(len(r.coords) - 1 for p in cell.geom.geoms for r in (p.exterior, *p.interiors))


def open_editor(
    browser: Any,  # noqa: F811
    url: str,
    token: str,
    *,
    size: tuple[int, int] = (1280, 800),
    prepare: Callable[[Any], None] | None = None,
) -> tuple[Any, Watch]:
    """The editor as a planner opens it from a link carrying the token (#token=…, kept in localStorage);
    `prepare(context)` runs first (e.g. to answer tile requests)."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    if prepare:
        prepare(context)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    page.goto(f"{url}#token={token}")
    page.wait_for_load_state("networkidle")
    settle(page)
    assert "token" not in page.url, "the token leaves the address bar"
    return page, watch


def settle(page: Any) -> None:
    page.wait_for_timeout(50)
    page.wait_for_function("planEditor.ready && planEditor.busy === 0", timeout=15_000)


def status_says(page: Any, text: str) -> None:
    page.wait_for_function("t => document.getElementById('status').textContent.includes(t)", arg=text, timeout=15_000)
    settle(page)


def screen(page: Any, lon: float, lat: float) -> tuple[float, float]:
    x, y = page.evaluate(
        """([lat, lon]) => {
          const p = planEditor.map.latLngToContainerPoint([lat, lon]);
          const r = planEditor.map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    return float(x), float(y)


def click_cell(page: Any, cell: DraftFeature, *, inset: float = 1e-4) -> None:
    """Click well inside the cell or compound (its bounding box centre may lie in a neighbour, or under a vertex
    handle)."""
    geom = cell.geom if cell.geom is not None else cell.live_geom
    assert geom is not None
    part = max(geom.geoms, key=lambda g: g.area)
    inner = part.buffer(-inset)
    point = (inner if not inner.is_empty else part).point_on_surface()
    page.mouse.click(*screen(page, point.x, point.y))


def drag(page: Any, x: float, y: float, dx: float, dy: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def centre(page: Any, code: str) -> tuple[float, float, dict[str, float]]:
    b = page.locator(f"path.pe-cell-{code}").bounding_box()
    assert b
    return b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, b


def handles_inside(page: Any, code: str) -> bool:
    _, _, b = centre(page, code)
    for h in page.locator(HANDLES).all():
        m = h.bounding_box()
        x, y = m["x"] + m["width"] / 2, m["y"] + m["height"] / 2
        if not (b["x"] - 3 <= x <= b["x"] + b["width"] + 3 and b["y"] - 3 <= y <= b["y"] + b["height"] + 3):
            return False
    return True


def watch_context(context: Any) -> Watch:
    """A Watch over every page of a browser context (a link opening a new tab)."""
    w = Watch()
    context.on("console", lambda m: w.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    context.on("weberror", lambda e: w.errors.append(f"page error: {e.error}"))
    context.on("requestfailed", lambda r: w.errors.append(f"failed: {r.url} {r.failure}"))
    context.on("response", lambda r: w.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    context.on("request", lambda r: w.requests.append(r.url))
    return w


def without(errors: list[str], *expected: str) -> list[str]:
    """Console/HTTP errors other than the refusals a step asked for (a 422 logs 'Failed to load resource')."""
    return [e for e in errors if not any(x in e for x in expected)]


# --- tests ------------------------------------------------------------------------------------------------------


def test_select_edit_split_merge_remove_revert(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    committed_plan: int,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{committed_plan}/edit", planner_token)
    settle(page)
    assert watch.errors == [] and watch.outside(live_server) == [], (watch.errors, watch.outside(live_server))
    scripts = page.locator("script[src*='/assets/gridgov@']").evaluate_all("ss => ss.map(s => s.src)")
    assert [re.sub(r".*/assets/gridgov@[0-9a-f]+/", "", u) for u in scripts] == [
        "gg_auth.js",
        "plan_editor.js",
        "plan_cells.js",
        "plan_areas.js",
        "plan_panels.js",
    ], "the editor's scripts, in order, as content-hashed assets"
    assert set(scripts) <= set(watch.requests)
    cache = page.request.get(scripts[-1]).headers["cache-control"]
    assert "immutable" in cache, "long-cached"
    cells = draft(engine, committed_plan)
    codes = present(cells)
    assert page.locator("path.pe-cell").count() == len(cells)
    assert f"{len(codes)} 个网格" in page.locator("#plan-counts").inner_text()
    assert page.locator(HANDLES).count() == 0, "nothing is editable before a cell is selected"
    assert (
        page.locator(".leaflet-pm-icon-polygon").count() == 1 and page.locator(".leaflet-pm-icon-polyline").count() == 1
    )
    assert page.locator(".leaflet-pm-icon-circle, .leaflet-pm-icon-marker, .leaflet-pm-icon-delete").count() == 0

    # select: the panel shows the cell, and only it gets vertex handles
    a, b = codes[0], codes[1]
    click_cell(page, cells[a])
    assert page.locator("#cell-code").inner_text() == a
    assert page.locator("#cell-name").input_value() == cells[a].name
    assert page.locator("#cell-households").input_value() == str(cells[a].households)
    assert (
        page.locator("#cell-status").inner_text()
        == {"live": "现行 / live", "add": "新增 / added", "change": "修改 / changed"}[cells[a].status]
    )
    assert page.locator(HANDLES).count() == vertices(cells[a]) and handles_inside(page, a)
    click_cell(page, cells[b])
    assert page.locator("#cell-code").inner_text() == b
    assert page.locator(HANDLES).count() == vertices(cells[b]) and handles_inside(page, b)
    m = page.locator("#map").bounding_box()
    page.mouse.click(m["x"] + m["width"] * 0.96, m["y"] + m["height"] * 0.4)  # the map outside every cell
    assert page.locator(HANDLES).count() == 0 and page.locator("#cell-info").is_hidden()
    click_cell(page, cells[b])
    page.keyboard.press("Escape")
    assert page.locator(HANDLES).count() == 0 and page.locator("#cell-info").is_hidden()
    shot(page, "plan-editor.png")

    # name and households, saved to the plan
    click_cell(page, cells[a])
    page.fill("#cell-name", "测试改名网格")
    page.fill("#cell-households", "234")
    page.locator("#save-attrs").click()
    status_says(page, "已保存")
    saved = draft(engine, committed_plan)[a]
    assert (saved.name, saved.households, saved.status) == ("测试改名网格", 234, "change")
    assert (
        page.locator("#cell-status").inner_text() == "修改 / changed" and page.locator("#cell-code").inner_text() == a
    )

    # split the biggest cell into two by households, then merge the new piece back
    big = max(codes, key=lambda c: cells[c].households)
    click_cell(page, cells[big])
    page.fill("#parts", "2")
    page.locator("#split-parts").click()
    status_says(page, "已按户数拆分")
    after = draft(engine, committed_plan)
    assert len(present(after)) == len(codes) + 1
    (piece,) = set(present(after)) - set(codes)
    assert page.locator("path.pe-cell").count() == len(after)
    assert page.locator("#cell-code").inner_text() == big, "the split cell stays selected"
    page.locator("#merge").click()
    click_cell(page, after[piece])
    status_says(page, "并入")
    assert present(draft(engine, committed_plan)) == codes

    # remove a cell: validation shows the gap it leaves; a commit is refused; revert
    victim = next(c for c in codes if c not in (a, big))
    click_cell(page, cells[victim])
    page.locator("#remove").click()
    page.locator("#remove-yes").click()
    status_says(page, "已在方案中删除")
    assert draft(engine, committed_plan)[victim].status == "remove"
    assert page.locator("#cell-status").inner_text() == "删除 / removed"
    assert "个错误" in page.locator("#summary").inner_text()
    gap = page.locator("#problems li.pe-err", has_text="空隙")
    assert gap.count() == 1, "the removed cell leaves a gap"
    assert page.locator("#problems li.pe-err").first.evaluate("e => getComputedStyle(e).color") == "rgb(183, 28, 28)"
    zoom = page.evaluate("planEditor.map.getZoom()")
    gap.first.click()
    page.wait_for_function("z => planEditor.map.getZoom() > z", arg=zoom, timeout=5000)

    page.locator("#commit").click()  # no message
    assert "提交说明不能为空" in page.locator("#commit-result").inner_text()
    page.fill("#commit-message", "删除一个网格")
    page.locator("#commit").click()
    page.wait_for_function("document.getElementById('commit-result').textContent.includes('错误')", timeout=15_000)
    assert "不能提交" in page.locator("#commit-result").inner_text()
    shot(page, "plan-editor-problems.png")

    click_cell(page, cells[victim])
    page.locator("#revert").click()
    status_says(page, "已撤销")
    assert draft(engine, committed_plan)[victim].status != "remove"
    assert page.locator("#summary").inner_text().startswith("可以提交")
    assert without(watch.errors, "422") == [], watch.errors

    # the diff map opens from its link with the token kept in localStorage
    diff_watch = watch_context(page.context)  # from the click on: the new tab's first request is seen too
    with page.context.expect_page() as opened:
        page.locator("#diff-link").click()
    diff = opened.value
    diff.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 10", timeout=15_000)
    diff.wait_for_load_state("networkidle")
    assert "变化概况" in diff.locator("body").inner_text()
    layers = diff.locator(".leaflet-control-layers-overlays").inner_text()
    assert "现行网格" in layers and "草案网格" in layers
    assert diff_watch.errors == [] and diff_watch.outside(live_server) == []
    assert any(u == f"{live_server}/maps/plans/{committed_plan}" for u in diff_watch.requests)
    shot(diff, "plan-diff.png")
    page.context.close()


def test_draw_a_new_cell_and_split_by_a_line(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    committed_plan: int,
    retired_code: str,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{committed_plan}/edit", planner_token)
    settle(page)
    cells = draft(engine, committed_plan)
    codes = present(cells)
    host = max(codes, key=lambda c: shapely.area(cells[c].geom))
    with Session(engine) as s:
        plan = s.get(BoundaryPlan, committed_plan)
        assert plan is not None
        (new_code,) = next_codes(s, plan, COMMUNITY, 1)
        used = set(s.scalars(select(GridCell.code).where(GridCell.code.like(COMMUNITY + "%"))))
    assert retired_code in used and new_code not in used and new_code > retired_code

    # draw a small square inside a cell: the form offers a fresh code from the server, not the retired one
    page.locator(f"path.pe-cell-{host}").scroll_into_view_if_needed()
    x, y, b = centre(page, host)
    dx, dy = b["width"] / 8, b["height"] / 8
    page.locator(".leaflet-pm-icon-polygon").click()
    corners = [(x - dx, y - dy), (x + dx, y - dy), (x + dx, y + dy), (x - dx, y + dy), (x - dx, y - dy)]
    for px, py in corners:  # the last click, on the first point, closes the ring
        page.mouse.click(px, py)
        page.wait_for_timeout(150)
    page.wait_for_selector("#new-card:not([hidden])", timeout=10_000)
    page.wait_for_function("document.getElementById('new-code').value !== ''", timeout=5000)
    assert page.locator("#new-code").input_value() == new_code
    assert any("/next-codes?community=" + COMMUNITY in u for u in watch.requests)
    # typing the retired code in: refused, and the form then holds the server's fresh code
    page.fill("#new-code", retired_code)
    page.fill("#new-name", "新画网格")
    page.locator("#new-save").click()
    status_says(page, "已撤销的网格")
    assert page.locator("#new-code").input_value() == new_code and page.locator("#new-card").is_visible()
    assert retired_code not in draft(engine, committed_plan)
    page.locator("#new-save").click()
    status_says(page, "已创建网格")
    after = draft(engine, committed_plan)
    assert after[new_code].status == "add" and after[new_code].name == "新画网格"
    assert after[host].status == "change" and shapely.area(after[host].geom) < shapely.area(cells[host].geom)
    assert page.locator("#cell-code").inner_text() == new_code, "the new cell is selected"
    page.keyboard.press("Escape")

    # split a cell with a line drawn across it
    target = next(c for c in codes if c != host and cells[c].status != "remove")
    click_cell(page, cells[target])
    page.locator(f"path.pe-cell-{target}").scroll_into_view_if_needed()
    x, y, b = centre(page, target)
    page.locator("#split-line").click()
    start, end = (b["x"] - 8, y), (b["x"] + b["width"] + 8, y)
    page.mouse.click(*start)
    page.wait_for_timeout(150)
    page.mouse.click(*end)
    page.wait_for_timeout(150)
    page.locator(".leaflet-pm-action.action-finish:visible").click()  # geoman's 完成 / finish
    status_says(page, "切分为")
    split = draft(engine, committed_plan)
    assert len(present(split)) == len(present(after)) + 1
    assert split[target].status == "change"
    shot(page, "plan-editor-drawn.png")

    # drag a vertex of another cell outwards: unsaved until "save shape"; its neighbour is cut to fit
    moved = next(c for c in codes if c not in (host, target) and split[c].status == "live")
    click_cell(page, split[moved])
    cx, cy, _ = centre(page, moved)
    middle = shapely.union_all([split[c].geom for c in present(split)]).centroid
    inner = min(split[moved].geom.geoms[0].exterior.coords, key=lambda xy: middle.distance(shapely.Point(xy)))
    hx, hy = screen(page, *inner)  # a vertex inside the community, shared with neighbours
    norm = ((hx - cx) ** 2 + (hy - cy) ** 2) ** 0.5
    page.mouse.move(hx, hy)
    page.mouse.down()
    page.mouse.move(hx + 30 * (hx - cx) / norm, hy + 30 * (hy - cy) / norm, steps=8)
    page.mouse.up()
    page.wait_for_function("!document.getElementById('save-geom').disabled", timeout=5000)
    assert "尚未保存" in page.locator("#status").inner_text()
    click_cell(page, split[host])
    assert page.locator("#cell-code").inner_text() == moved, "no other cell while the shape is unsaved"
    assert page.locator("#fit").is_checked()
    page.locator("#save-geom").click()
    status_says(page, "边界已保存")
    reshaped = draft(engine, committed_plan)
    assert reshaped[moved].status == "change" and not reshaped[moved].geom.equals(split[moved].geom)
    cut = [c for c in present(split) if c != moved and not reshaped[c].geom.equals(split[c].geom)]
    assert cut, "a neighbour was cut to fit"
    assert without(watch.errors, "422") == [] and watch.outside(live_server) == [], watch.errors
    page.context.close()


def test_on_a_phone_the_panel_follows_the_map(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    committed_plan: int,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{committed_plan}/edit", planner_token, size=(390, 844))
    settle(page)
    box_map = page.locator("#map").bounding_box()
    panel = page.locator(".gg-panel").bounding_box()
    assert box_map and panel and box_map["width"] == pytest.approx(390, abs=2)
    assert panel["y"] >= box_map["y"] + box_map["height"] - 1, "the panel follows the map"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    cells = draft(engine, committed_plan)
    code = present(cells)[0]
    click_cell(page, cells[code])
    assert page.locator("#cell-code").inner_text() == code
    assert watch.errors == []
    shot(page, "plan-editor-phone.png")
    page.context.close()


def _geojson_file() -> bytes:
    """The synthetic community redrawn: the shared edge moved east."""
    cells = [
        (f"{SYNTHETIC}001", "测试第1网格", _ring(OX, EDGES[1])),
        (f"{SYNTHETIC}002", "测试第2网格", _ring(EDGES[1], OX + 2 * STEP)),
    ]
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"code": c, "name": n}, "geometry": mapping(g)} for c, n, g in cells
            ],
        }
    ).encode()


def test_import_with_progress_then_commit(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    synthetic_plan: int,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{synthetic_plan}/edit", planner_token)
    settle(page)
    assert page.locator("path.pe-cell").count() == 0 and page.locator("#cell-empty").is_visible(), "no cells yet"
    layers = page.locator("#import-layer option").evaluate_all("os => os.map(o => o.value)")
    assert layers == ["cell", "compound", "community"]
    help_text = page.locator("#import-help").inner_text()
    assert "Excel" in help_text and "户数" in help_text, "attribute tables are explained"

    page.set_input_files(
        "#import-file",
        files=[{"name": "redrawn.geojson", "mimeType": "application/geo+json", "buffer": _geojson_file()}],
    )
    page.select_option("#import-layer", "cell")
    page.fill("#import-crs", "EPSG:4326")
    page.locator("#import-go").click()
    page.wait_for_selector("#import-report", timeout=20_000)
    settle(page)
    assert any(f"/v1/plans/{synthetic_plan}/imports/" in u for u in watch.requests), "the job was polled"
    assert page.locator("#import-bar").evaluate("b => b.value === b.max")
    assert "完成" in page.locator("#import-stage").inner_text()
    report = page.locator("#import-report").inner_text()
    assert "修改 2" in report and "redrawn.geojson" in report and "网格 / cells" in report
    assert page.locator("path.pe-cell").count() == 2
    assert page.locator("#summary").inner_text().startswith("可以提交"), page.locator("#problems").inner_text()

    page.locator("#commit").click()
    assert "提交说明不能为空" in page.locator("#commit-result").inner_text()
    page.fill("#commit-message", "测试：移动公共边")
    page.locator("#commit").click()
    page.wait_for_selector("#commit-report-body", timeout=20_000)
    settle(page)
    report = page.locator("#commit-report-body").inner_text()
    assert "新开版本 / versions opened：2" in report and "关闭版本 / versions closed：2" in report
    assert "已提交" in page.locator("#plan-status").inner_text()
    assert page.locator("#summary").inner_text().startswith("方案已提交")
    assert page.locator("#committed").is_visible() and "只能查看" in page.locator("#committed-text").inner_text()
    assert page.locator(".leaflet-pm-toolbar").count() == 0, "no drawing tools on a committed plan"
    assert page.locator("#commit-card").is_hidden() and page.locator("#import-card").is_hidden()
    click_cell(page, draft(engine, synthetic_plan)[f"{SYNTHETIC}001"])
    assert page.locator(HANDLES).count() == 0 and page.locator("#save-attrs").is_hidden()
    with Session(engine) as s:
        live = s.execute(
            text("SELECT count(*) FROM grid_cells WHERE code LIKE :p AND valid_to IS NULL"), {"p": SYNTHETIC + "%"}
        ).scalar()
        assert live == 2
        assert s.scalar(select(BoundaryPlan.status).where(BoundaryPlan.id == synthetic_plan)) == "committed"
    assert watch.errors == [] and watch.outside(live_server) == [], watch.errors
    shot(page, "plan-editor-committed.png")
    page.context.close()


def test_an_empty_plan_starts_on_a_picked_community(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    empty_plan: int,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{empty_plan}/edit", planner_token)
    assert page.locator("path.pe-cell").count() == 0 and page.locator("#cell-empty").is_visible()
    assert "还没有社区" in page.locator("#plan-communities").inner_text()
    assert page.locator("#community-start").is_disabled()
    options = page.locator("#community-pick option").all_inner_texts()
    assert f"和平新村社区（{COMMUNITY}）" in options and len(options) >= 9, options

    # pick a community: its live cells enter the draft and appear, with its compounds and outline
    page.select_option("#community-pick", COMMUNITY)
    page.locator("#community-start").click()
    status_says(page, "已开始编辑")
    cells = draft(engine, empty_plan)
    assert len(cells) > 10 and {c.status for c in cells.values()} == {"live"}
    assert page.locator("path.pe-cell").count() == len(cells) and page.locator("#cell-empty").is_hidden()
    assert "和平新村社区" in page.locator("#plan-communities").inner_text()
    assert f"和平新村社区（{COMMUNITY}）" not in page.locator("#community-pick option").all_inner_texts()
    assert page.evaluate("planEditor.map.getZoom()") > 12, "the map went to the community"
    compounds = compounds_of(engine, empty_plan)
    assert len(compounds) > 10
    assert page.locator("path.pe-compound").count() == len(compounds)
    assert page.locator("#compound-count").inner_text() == str(len(compounds))
    assert page.locator("path.pe-community").count() == 1
    assert page.locator("path.pe-compound").first.evaluate("p => getComputedStyle(p).pointerEvents") == "none", (
        "the outlines leave clicks to the cells"
    )
    shot(page, "plan-editor-community.png")

    # the legend hides and shows the outlines
    page.locator("#show-compounds").uncheck()
    assert page.locator("path.pe-compound").count() == 0
    page.locator("#show-communities").uncheck()
    assert page.locator("path.pe-community").count() == 0
    page.locator("#show-compounds").check()
    page.locator("#show-communities").check()
    assert page.locator("path.pe-compound").count() == len(compounds) and page.locator("path.pe-community").count() == 1

    # an attribute table (CSV without geometry) for compounds: households change, boundaries stay
    code = sorted(compounds)[0]
    page.select_option("#import-layer", "compound")
    page.set_input_files(
        "#import-file",
        files=[{"name": "households.csv", "mimeType": "text/csv", "buffer": f"code,households\n{code},123\n".encode()}],
    )
    page.locator("#import-go").click()
    page.wait_for_selector("#import-report", timeout=20_000)
    settle(page)
    report = page.locator("#import-report").inner_text()
    assert "小区 / compounds" in report and "属性表" in report and "修改 1" in report, report
    after = compounds_of(engine, empty_plan)[code]
    assert (
        after.status == "change" and after.attributes["households"] == 123 and after.geom.equals(compounds[code].geom)
    )

    # pick that compound: the panel shows it as changed, with the new households
    page.locator("#compound-pick").click()
    click_cell(page, compounds[code], inset=1e-5)
    assert page.locator("#compound-code").inner_text() == code
    assert page.locator("#compound-households").inner_text() == "123"
    assert page.locator("#compound-status").inner_text() == "修改 / changed"
    assert page.locator("#cell-info").is_hidden()
    assert without(watch.errors) == [] and watch.outside(live_server) == [], watch.errors
    page.context.close()


def test_pick_a_compound_redraw_and_revert_it(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    committed_plan: int,
    engine: Engine,
) -> None:
    page, watch = open_editor(browser, f"{live_server}/plans/{committed_plan}/edit", planner_token)
    compounds = compounds_of(engine, committed_plan)
    cells = draft(engine, committed_plan)
    code = max(compounds, key=lambda c: shapely.area(compounds[c].geom))
    target = compounds[code]
    assert target.geom is not None

    # a click on a compound selects the cell under it until compounds are picked
    click_cell(page, target, inset=1e-5)
    assert page.locator("#cell-info").is_visible() and page.locator("#compound-info").is_hidden()
    page.locator("#compound-pick").click()
    assert page.locator("#cell-info").is_hidden(), "picking compounds leaves the cell"
    click_cell(page, target, inset=1e-5)
    page.wait_for_timeout(250)  # geoman re-enables a group's layers 100 ms after they were added (a hand is slower)
    assert page.locator("#compound-code").inner_text() == code
    assert page.locator("#compound-status").inner_text() == "现行 / live"
    assert page.locator(HANDLES).count() == vertices(target), "only the compound gets vertex handles"

    # drag its vertex farthest from the middle further out: unsaved until saved
    middle = target.geom.centroid
    ring = max(target.geom.geoms, key=lambda g: g.area).exterior
    far = max(ring.coords, key=lambda xy: middle.distance(shapely.Point(xy)))
    hx, hy = screen(page, *far)
    cx, cy = screen(page, middle.x, middle.y)
    norm = ((hx - cx) ** 2 + (hy - cy) ** 2) ** 0.5
    drag(page, hx, hy, 25 * (hx - cx) / norm, 25 * (hy - cy) / norm)
    page.wait_for_function("!document.getElementById('compound-save').disabled", timeout=5000)
    assert "尚未保存" in page.locator("#status").inner_text()
    page.locator("#compound-save").click()
    status_says(page, "已保存小区")
    redrawn = compounds_of(engine, committed_plan)[code]
    assert redrawn.status == "change" and redrawn.geom is not None
    assert shapely.area(redrawn.geom) > shapely.area(target.geom)
    assert page.locator("#compound-code").inner_text() == code, "the compound stays picked"
    assert page.locator("#compound-status").inner_text() == "修改 / changed"
    assert {c: d.status for c, d in draft(engine, committed_plan).items()} == {c: d.status for c, d in cells.items()}

    page.locator("#compound-revert").click()
    status_says(page, "已撤销方案对小区")
    assert compounds_of(engine, committed_plan)[code].status == "live"
    assert page.locator("#compound-status").inner_text() == "现行 / live"
    page.keyboard.press("Escape")
    assert page.locator("#compound-info").is_hidden() and page.locator(HANDLES).count() == 0
    page.keyboard.press("Escape")  # stop picking: a click selects cells again
    click_cell(page, target, inset=1e-5)
    assert page.locator("#cell-info").is_visible()
    assert without(watch.errors) == [] and watch.outside(live_server) == [], watch.errors
    page.context.close()


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def answer_tiles(base: str, tiles: re.Pattern[str], served: list[str]) -> Callable[[Any], None]:
    """Route every request of a browser context: tile URLs get a small PNG in the browser (nothing leaves the
    machine), other outside URLs are aborted (and fail the test), the app's own go through."""

    def handle(route: Any) -> None:
        url = route.request.url
        if tiles.match(url):
            served.append(url)
            route.fulfill(status=200, content_type="image/png", body=PNG)
        elif url.startswith((base, "data:")):
            route.continue_()
        else:
            route.abort()

    return lambda context: context.route("**/*", handle)


def test_the_configured_basemap_under_the_cells(
    browser: Any,  # noqa: F811
    live_app: tuple[str, FastAPI],
    planner_token: str,
    committed_plan: int,
    engine: Engine,
) -> None:
    live_server, app = live_app
    url = f"{live_server}/plans/{committed_plan}/edit"

    # an intranet tile server (XYZ template): its tiles under the cells, as on the other map pages
    served: list[str] = []
    with basemap(app, f"{live_server}/tiles/{{z}}/{{x}}/{{y}}.png"):
        page, watch = open_editor(
            browser, url, planner_token, prepare=answer_tiles(live_server, re.compile(r".*/tiles/\d+/"), served)
        )
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 0", timeout=10_000)
    assert served and watch.errors == [] and watch.outside(live_server) == []
    page.context.close()

    # 高德 (GCJ-02): the cells are drawn shifted onto its tiles, and a dragged vertex is saved back in WGS84
    served = []
    with basemap(app, "amap"):
        page, watch = open_editor(
            browser,
            url,
            planner_token,
            prepare=answer_tiles(live_server, re.compile(r"^https://webrd0\d\.is\.autonavi\.com/"), served),
        )
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 0", timeout=10_000)
    assert served and set(watch.outside(live_server)) == set(served), "only tiles, answered in the browser"
    assert "高德地图" in page.locator(".leaflet-control-attribution").inner_text()
    cells = draft(engine, committed_plan)
    code = present(cells)[0]
    geom = cells[code].geom
    assert geom is not None
    ring = list(geom.geoms[0].exterior.coords)
    for lon, lat in ring[:3]:
        shown = page.evaluate("([lon, lat]) => planEditor.toMap(lon, lat)", [lon, lat])
        assert shown == pytest.approx(wgs84_to_gcj02(lon, lat), abs=1e-9)
        assert abs(shown[0] - lon) + abs(shown[1] - lat) > 1e-3, "GCJ-02 is hundreds of metres off in Jinan"

    def on_map(lon: float, lat: float) -> tuple[float, float]:
        gx, gy = page.evaluate("([lon, lat]) => planEditor.toMap(lon, lat)", [lon, lat])
        return screen(page, gx, gy)

    inner = shapely.Point(geom.geoms[0].representative_point())
    page.mouse.click(*on_map(inner.x, inner.y))
    assert page.locator("#cell-code").inner_text() == code, "a click on the shifted cell selects it"
    moved = ring[0]
    hx, hy = on_map(*moved)
    page.keyboard.down("Alt")  # geoman: no snapping while Alt is held, so the vertex stays where it is dropped
    drag(page, hx, hy, 12, 9)
    page.keyboard.up("Alt")
    page.wait_for_function("!document.getElementById('save-geom').disabled", timeout=5000)
    dropped = page.evaluate(
        "([x, y]) => { const r = planEditor.map.getContainer().getBoundingClientRect();"
        " const ll = planEditor.map.containerPointToLatLng([x - r.left, y - r.top]); return [ll.lng, ll.lat]; }",
        [hx + 12, hy + 9],
    )
    page.locator("#fit").uncheck()  # the cell alone, so that its vertices are the ones dragged and kept
    page.locator("#save-geom").click()
    status_says(page, "边界已保存")
    saved = draft(engine, committed_plan)[code].geom
    assert saved is not None
    coords = [xy for g in saved.geoms for xy in g.exterior.coords]
    kept = [xy for xy in ring[1:-1] if xy != moved]
    assert all(xy in coords for xy in kept), "unmoved vertices are sent back exactly"
    (new,) = {xy for xy in coords if xy not in ring}  # the first point of a ring is its last too
    back = wgs84_to_gcj02(*new)
    assert back == pytest.approx(dropped, abs=2e-6), "the vertex is saved where it was dropped on the 高德 map"
    assert watch.errors == [], watch.errors
    page.context.close()


# --- screenshots for the docs -----------------------------------------------------------------------------------

DOCS_COMMUNITY = "370102010002"  # the demo community the docs' planning screenshots show


def docs_shot(page: Any, name: str) -> None:
    """A screenshot for docs/img/, in few colours so that it stays small in the repository."""
    from PIL import Image

    raw = OUT / f"raw-{name}"
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(raw))
    docs = ROOT / "docs" / "img"
    docs.mkdir(parents=True, exist_ok=True)
    Image.open(raw).convert("RGB").quantize(colors=192, dither=Image.Dither.NONE).save(docs / name, optimize=True)
    assert (docs / name).stat().st_size < 400_000


@pytest.mark.skipif(os.environ.get("GRIDGOV_README_SHOTS") != "1", reason="set GRIDGOV_README_SHOTS=1 to refresh")
def test_docs_screenshots(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    engine: Engine,
) -> None:
    """docs/img/plan-editor.png (a plan generated for a demo community in the editor, a cell selected, the
    problems listed) and docs/img/plan-diff.png (its diff map)."""
    with Session(engine) as s:
        plan = create_plan(s, name="按户数重新划分（示例）")
        ops.generate(s, plan.id, DOCS_COMMUNITY, 200, 300)
        s.commit()
        plan_id = plan.id
    try:
        page, watch = open_editor(browser, f"{live_server}/plans/{plan_id}/edit", planner_token, size=(1280, 1300))
        cells = draft(engine, plan_id)
        shapes = {c: cells[c].geom for c in present(cells) if cells[c].geom is not None}
        middle = shapely.union_all(list(shapes.values())).centroid
        code = min(shapes, key=lambda c: shapes[c].centroid.distance(middle))  # a cell in the middle of the view
        click_cell(page, cells[code])
        settle(page)
        assert page.locator("#cell-code").inner_text() == code
        assert page.locator("#problems li:not(.pe-hidden)").count() > 0, "the shot shows the problems list"
        first = page.locator("#problems li:not(.pe-hidden)").first.bounding_box()
        assert first and first["y"] + first["height"] < 1300, "the shot shows the selected cell and the problems"
        page.wait_for_timeout(300)
        assert watch.errors == [], watch.errors
        docs_shot(page, "plan-editor.png")

        diff = page.context.new_page()  # the token is in this context's localStorage, like after the editor
        diff_watch = Watch()
        diff_watch.attach(diff)
        diff.set_viewport_size({"width": 1280, "height": 800})
        diff.goto(f"{live_server}/maps/plans/{plan_id}")
        diff.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane path').length > 10", timeout=15_000)
        diff.wait_for_load_state("networkidle")
        diff.wait_for_timeout(500)
        assert "变化概况" in diff.locator("body").inner_text()
        assert diff_watch.errors == [], diff_watch.errors
        docs_shot(diff, "plan-diff.png")
        page.context.close()
    finally:
        _drop_plan(engine, plan_id)


def test_log_in_on_the_editor_and_an_expired_token_on_the_diff_shell(
    browser: Any,  # noqa: F811
    live_server: str,
    planner_token: str,
    committed_plan: int,
) -> None:
    """The shared log-in (gg_auth.js): the editor opened without a token asks for a log-in, shows the server's
    reason for a wrong password and opens the plan with the right one; the diff shell forgets an expired token
    and says so."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/plans/{committed_plan}/edit")
    page.wait_for_selector("#login-card:not([hidden])")
    page.fill("#login input[name=username]", "editor-test-planner")
    page.fill("#login input[name=password]", "not-the-password")
    page.click("#login button[type=submit]")
    page.wait_for_function("document.getElementById('status').className === 'pe-err'", timeout=10_000)
    assert page.locator("#status").inner_text() not in ("", "无法连接服务器 / cannot reach the server")
    assert page.locator("#login-card").is_visible() and page.evaluate("localStorage.getItem('gridgov.token')") is None
    page.fill("#login input[name=password]", "pw-editor")
    page.click("#login button[type=submit]")
    settle(page)
    assert page.locator("#login-card").is_hidden() and page.evaluate("localStorage.getItem('gridgov.token')")
    assert page.input_value("#login input[name=password]") == "", "the password does not stay in the form"

    page.evaluate("localStorage.setItem('gridgov.token', 'expired')")
    page.goto(f"{live_server}/maps/plans/{committed_plan}")
    page.wait_for_function(
        "document.getElementById('gg-plan-msg').textContent.includes('登录已过期')", timeout=10_000
    )
    assert page.evaluate("localStorage.getItem('gridgov.token')") is None, "a refused token is forgotten"
    context.close()
