"""Participation per community and per compound (registered members, hours this month, open items): the figures
the 服务资源地图 and the operations map show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.models import utcnow
from gis.participation.members import month_start

_SQL = """
WITH p AS (SELECT CAST(:community AS text) AS community, CAST(:compound AS text) AS compound)
SELECT
  (SELECT count(*) FROM participation_members m WHERE m.status = 'confirmed' AND m.community_code = p.community
     AND (p.compound IS NULL OR EXISTS (SELECT 1 FROM service_claims c JOIN service_items i ON i.id = c.item_id
                                        WHERE c.member_id = m.id AND i.place_code = p.compound))) AS members,
  (SELECT count(*) FROM participation_teams t WHERE t.community_code = p.community) AS teams,
  (SELECT coalesce(sum(c.confirmed_minutes), 0) FROM service_claims c JOIN service_items i ON i.id = c.item_id
     WHERE i.community_code = p.community AND (p.compound IS NULL OR i.place_code = p.compound)
       AND c.starts_at >= :month AND c.confirmed_minutes IS NOT NULL) AS minutes,
  (SELECT count(*) FROM service_items i WHERE i.community_code = p.community AND i.status = 'open'
     AND i.ends_at > :now AND i.claimed < i.capacity
     AND (p.compound IS NULL OR i.place_code = p.compound)) AS open_items
FROM p
"""


def participation(
    session: Session, *, community: str, compound: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Members (of the community; for a compound: those who served there), teams, confirmed hours this month and
    open items with places left."""
    now = now or utcnow()
    row = session.execute(
        text(_SQL), {"community": community, "compound": compound, "month": month_start(now), "now": now}
    ).one()
    return {
        "community_code": community,
        "compound_code": compound,
        "members": int(row.members),
        "teams": int(row.teams),
        "hours_month": round(float(row.minutes) / 60, 1),
        "open_items": int(row.open_items),
    }
