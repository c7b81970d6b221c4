"""议事协商 on the compound's 服务资源地图 (C1): the page data holds the compound's open and recent topics with
their latest round's agreement rate and outcome, public fields only; the public page renders the card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gis.evaluation import consultations
from gis.evaluation.models import ConsultationTopic
from gis.models import utcnow
from gis.tickets.sla import SHANGHAI
from tests.evaluation.conftest import World

Maker = Callable[..., tuple[Any, dict[str, str]]]
ROUND = {"place": "张三家客厅", "attendance": 20, "abstain": 0, "photo_ids": []}


def test_the_compound_page_shows_its_consultations(client: TestClient, session: Session, world: World,
                                                   make_user: Maker) -> None:  # fmt: skip
    admin, _ = make_user("admin")
    recent = utcnow().astimezone(SHANGHAI).replace(microsecond=0) - timedelta(days=3)
    lift = consultations.create_topic(session, admin, world.compound, title="加装电梯", description=None,
                                      ticket_ids=[])  # fmt: skip
    for agree, before in ((13, 7), (17, 0)):
        consultations.add_meeting(session, admin, lift["id"], held_at=recent - timedelta(days=before), agree=agree,
                                  disagree=20 - agree, minutes="李四 13800000000 发言", **ROUND)  # fmt: skip
    park = consultations.create_topic(session, admin, world.compound, title="停车位划线", description=None,
                                      ticket_ids=[])  # fmt: skip
    consultations.add_meeting(session, admin, park["id"], held_at=recent, agree=20, disagree=0, minutes=None, **ROUND)
    consultations.update_topic(
        session, admin, park["id"], status="agreed", outcome="全票通过，下月施工", ticket_ids=None
    )
    old = consultations.create_topic(session, admin, world.compound, title="旧事", description=None, ticket_ids=[])
    consultations.update_topic(session, admin, old["id"], status="shelved", outcome=None, ticket_ids=None)
    row = session.get(ConsultationTopic, old["id"])
    assert row is not None
    row.created_at = datetime(2024, 1, 1, tzinfo=SHANGHAI)  # closed long ago: not shown
    session.flush()

    topics = consultations.public_topics(session, world.compound)
    assert [t["title"] for t in topics] == ["加装电梯", "停车位划线"]  # open first, the shelved old one left out
    assert topics[0] == {
        "title": "加装电梯", "status": "open", "status_label": "协商中", "outcome": None, "rounds": 2,
        "last_held_on": recent.date().isoformat(), "last_agreement_rate": 0.85,
    }  # fmt: skip
    assert topics[1]["status_label"] == "已达成" and topics[1]["outcome"] == "全票通过，下月施工"

    page = client.get(f"/maps/compounds/{world.compound}")
    assert page.status_code == 200
    html = page.text
    assert "议事协商" in html and "加装电梯" in html and "同意率 85%" in html and "第 2 轮" in html
    assert "全票通过，下月施工" in html and "旧事" not in html
    assert "张三家客厅" not in html and "李四" not in html and "13800000000" not in html  # public fields only
