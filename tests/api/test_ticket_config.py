"""The ticket configuration is injected: each app reads its own (GRIDGOV_CONFIG_DIR) and binds it for its
requests; nothing is cached across apps, so a second deployment or a test changes categories freely."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gis.settings import ROOT, Settings
from gis.tickets.config import load_config


def _client(settings: Settings, sessions: sessionmaker[Session]) -> TestClient:
    app = create_app(settings)
    app.state.sessions = sessions
    return TestClient(app)


def test_each_app_uses_its_own_categories(settings: Settings, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    for name in ("ticket_categories.yaml", "ticket_sla.yaml"):
        shutil.copy(ROOT / "data" / "config" / name, tmp_path / name)
    doc = yaml.safe_load((tmp_path / "ticket_categories.yaml").read_text(encoding="utf-8"))
    doc["categories"].append(
        {
            "code": "snow",
            "label": "积雪清扫",
            "group": "市政设施",
            "unit_type": "urban_management",
            "tier": {"four_level": "normal"},
        }
    )
    (tmp_path / "ticket_categories.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    custom = settings.model_copy(update={"config_dir": tmp_path})
    with _client(custom, sessions) as c, _client(settings, sessions) as shipped:
        codes = {x["code"] for x in c.get("/v1/ticket-categories").json()["categories"]}
        shipped_codes = {x["code"] for x in shipped.get("/v1/ticket-categories").json()["categories"]}
        assert "snow" in codes and "snow" not in shipped_codes
        # the domain sees the bound configuration too: intake accepts the new category on that app only
        body = {
            "category": "snow",
            "description": "路面积雪",
            "lon": 117.050396,
            "lat": 36.670641,
            "reporter_name": "王",
            "reporter_phone": "13600000000",
        }
        assert shipped.post("/v1/tickets", json=body).status_code == 422
        assert c.post("/v1/tickets", json=body).status_code == 201
    assert "snow" not in load_config().categories  # nothing leaked into the process-wide default
