"""Settings: one group per concern, flat GRIDGOV_* names, production refuses developer defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gis.settings import Settings


def test_groups_read_the_flat_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGOV_PG_PORT", "55555")
    monkeypatch.setenv("GRIDGOV_MAX_BODY_BYTES", "123456")
    monkeypatch.setenv("GRIDGOV_BASEMAP", "tianditu")
    monkeypatch.setenv("GRIDGOV_TOKEN_TTL_HOURS", "2")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    s = Settings()
    assert s.database.pg_port == 55555 and ":55555/" in s.sqlalchemy_url
    assert s.limits.max_body_bytes == 123456
    assert s.maps.basemap == "tianditu"
    assert s.auth.token_ttl_hours == 2


def test_database_url_wins_and_gets_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.internal:5432/grid")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u:p@db.internal:5432/grid"


def test_production_needs_a_public_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGOV_ENV", "production")
    monkeypatch.delenv("GRIDGOV_PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ValidationError, match="GRIDGOV_PUBLIC_BASE_URL"):
        Settings()
    monkeypatch.setenv("GRIDGOV_PUBLIC_BASE_URL", "https://grid.example.gov.cn")
    assert Settings().maps.public_base_url == "https://grid.example.gov.cn"


def test_nonsense_limits_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGOV_MAX_PAGE_SIZE", "0")
    with pytest.raises(ValidationError, match="max_page_size"):
        Settings()


def test_no_dead_settings() -> None:
    """A setting nothing reads is a trap for the operator who changes it (secret_key, nearest_* were)."""
    names = {
        *Settings.model_fields,
        *(f for g in ("database", "auth", "limits", "maps") for f in type(getattr(Settings(), g)).model_fields),
    }
    assert not names & {"secret_key", "nearest_per_type", "nearest_radius_m"}
