"""The notifications page in Chromium: the inbox and, for an admin, the delivery log load from the API with
the stored token, with no console error and nothing fetched from outside the app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import CHROMIUM
from tests.maps.test_browser import browser, open_page, server, shot  # noqa: F401  (fixtures, reused)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make browser)")


def test_notifications_page_shows_the_inbox_and_the_delivery_log(browser: Any, server: str) -> None:  # noqa: F811
    page, watch = open_page(browser, f"{server}/maps/notifications", token="any-token")
    page.wait_for_selector("#nt-deliveries:not([hidden])", timeout=5000)
    assert page.locator("#nt-inbox").is_visible()
    assert "暂无通知" in page.locator("#nt-items").inner_text()  # the browser test's admin has no messages
    assert page.locator("#nt-rows tr").count() > 0  # the demo's SMS receipts and their state
    page.select_option("#nt-channel", "wecom")
    page.wait_for_timeout(500)
    assert page.locator("#nt-rows tr").count() == 0
    shot(page, "notifications.png", full_page=True)
    assert watch.errors == []
    assert watch.outside(server) == []
    page.context.close()
