"""Fixtures of the sheet tests: databases of their own, empty, for the tests that start from nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gis.db import ensure_database, sibling_database_url
from gis.settings import get_settings


@pytest.fixture()
def fresh_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """fresh_database("onboard"): the database `<configured>_onboard` (or the one GRIDGOV_ONBOARD_DATABASE_URL
    names) dropped and created empty (PostGIS only) and made the configured one: init has to migrate it itself."""

    def make(suffix: str) -> str:
        url = sibling_database_url(suffix, f"GRIDGOV_{suffix.upper()}_DATABASE_URL")
        ensure_database(url, fresh=True)
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        return url

    yield make
    get_settings.cache_clear()
