"""Settings: one group per concern, read from GRIDGOV_* environment variables (never at import time).

Each group is its own pydantic-settings class with the `GRIDGOV_` prefix, so the variable names stay flat and
short (`GRIDGOV_PG_PORT`, `GRIDGOV_MAX_BODY_BYTES`, `GRIDGOV_BASEMAP`); `Settings` holds one of each. Build it
with `get_settings()` (cached, for commands) or `Settings(...)` (tests, the app factory).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import quote

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
_ENV = SettingsConfigDict(env_prefix="GRIDGOV_", env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    """Where PostGIS is. `DATABASE_URL` (no prefix) names an existing database; otherwise the project-local
    cluster that scripts/postgis.sh runs (its password in `pg_password_file`)."""

    model_config = SettingsConfigDict(**_ENV, populate_by_name=True)

    url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    pg_host: str = "127.0.0.1"
    pg_port: int = 54329
    pg_user: str = "gridgov"
    pg_password_file: Path = ROOT / "var" / "pg.password"
    db: str = "gridgov"

    @property
    def sqlalchemy_url(self) -> str:
        if self.url:
            for prefix in ("postgresql://", "postgres://"):
                if self.url.startswith(prefix):
                    return "postgresql+psycopg://" + self.url[len(prefix) :]
            return self.url
        password = ""
        if self.pg_password_file.is_file():
            password = ":" + quote(self.pg_password_file.read_text().strip(), safe="")
        return f"postgresql+psycopg://{self.pg_user}{password}@{self.pg_host}:{self.pg_port}/{self.db}"


class AuthSettings(BaseSettings):
    """Bearer tokens."""

    model_config = _ENV

    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)


class LimitSettings(BaseSettings):
    """What one request may ask or send."""

    model_config = _ENV

    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    max_geometry_vertices: int = Field(default=20_000, ge=4)
    max_upload_bytes: int = Field(default=50_000_000, ge=1024)  # boundary files sent to /v1/plans/{id}/import(s)
    # `gridgov plans import` (a file on the planner's disk, not an upload): bigger files, more features
    max_import_bytes: int = Field(default=200_000_000, ge=1024)
    max_import_features: int = Field(default=100_000, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    # OGC API items pages (GIS clients read whole layers in few pages); work per page is bounded by the read
    # engine's statement timeout and the capped count (gis.feature_json)
    max_ogc_page_size: int = Field(default=10_000, ge=1)


class MapSettings(BaseSettings):
    """Map pages: the address printed in links and QR codes, the basemap, and where npm assets are."""

    model_config = _ENV

    public_base_url: str = "http://127.0.0.1:8000"
    basemap: str = "none"
    basemap_key: str = ""
    assets_dir: Path = ROOT / "node_modules"


class Settings(BaseSettings):
    """All runtime settings, one group per concern, plus where files live."""

    model_config = _ENV

    # production refuses settings that only make sense on a developer's machine
    env: Literal["development", "production"] = "development"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    maps: MapSettings = Field(default_factory=MapSettings)
    media_dir: Path = ROOT / "var" / "media"
    # ticket_categories.yaml and ticket_sla.yaml of this deployment (None: the shipped data/config)
    config_dir: Path | None = None
    run_dir: Path = ROOT / "var" / "run"  # PID files of `gridgov serve` and its worker (read by `make stop`)
    # where channels of kind "log" (the demo's SMS and e-mail) write what they would send (gis.notify)
    notify_log: Path = ROOT / "var" / "notify" / "outbox.log"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database.sqlalchemy_url

    @model_validator(mode="after")
    def _production_is_configured(self) -> Self:
        default_url = MapSettings.model_fields["public_base_url"].default
        if self.env == "production" and self.maps.public_base_url == default_url:
            raise ValueError(
                "GRIDGOV_ENV=production needs GRIDGOV_PUBLIC_BASE_URL: links and QR codes on printed maps must "
                "point at the address residents reach, not http://127.0.0.1:8000"
            )
        return self

    @classmethod
    def for_tests(cls, database_url: str, **limits: int) -> Settings:
        """Settings on a given database with some limits changed (tests, benches)."""
        return cls(database=DatabaseSettings(url=database_url), limits=LimitSettings.model_validate(limits))


@lru_cache
def get_settings() -> Settings:
    return Settings()
