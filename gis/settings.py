"""Settings: one object per concern, read from GRIDGOV_* environment variables (never at import time)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All runtime settings. `DATABASE_URL` (no prefix) points at an existing PostGIS if set."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", env_file=".env", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    pg_host: str = "127.0.0.1"
    pg_port: int = 54329
    pg_user: str = "gridgov"
    # the project-local cluster's password (scripts/postgis.sh writes it); ignored when DATABASE_URL is set
    pg_password_file: Path = ROOT / "var" / "pg.password"
    db: str = "gridgov"

    secret_key: str = "change-me-in-production-gridgov"
    token_ttl_hours: int = 12
    public_base_url: str = "http://127.0.0.1:8000"

    max_body_bytes: int = 5_000_000
    max_geometry_vertices: int = 20_000
    max_upload_bytes: int = 50_000_000  # boundary files uploaded to /v1/plans/{id}/import(s)
    # `gridgov plans import` (a file on the planner's disk, not an upload): bigger files, more features
    max_import_bytes: int = 200_000_000
    max_import_features: int = 100_000
    max_page_size: int = 1000
    nearest_per_type: int = 3
    nearest_radius_m: float = 3000.0

    assets_dir: Path = ROOT / "node_modules"
    media_dir: Path = ROOT / "var" / "media"
    run_dir: Path = ROOT / "var" / "run"  # PID files of `gridgov serve` and its worker (read by `make stop`)
    basemap: str = "none"
    basemap_key: str = ""

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            for prefix in ("postgresql://", "postgres://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        password = ""
        if self.pg_password_file.is_file():
            password = ":" + quote(self.pg_password_file.read_text().strip(), safe="")
        return f"postgresql+psycopg://{self.pg_user}{password}@{self.pg_host}:{self.pg_port}/{self.db}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
