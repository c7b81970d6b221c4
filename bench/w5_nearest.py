"""W5: nearest 10 resources to a point among 1e6 resources — GiST KNN vs a sequential scan.

.venv/bin/python -m bench.w5_nearest [--resources 1000000] [--queries 300]
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_url, cli, ensure_database, summary, timed, write_result
from gis.locate import nearest_resources
from gis.migrate import upgrade

SEQ_SQL = text(
    """
    SELECT code, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d
    FROM service_resources ORDER BY d LIMIT 10
    """
)


def load_resources(session: Session, n: int) -> None:
    have = session.scalar(text("select count(*) from service_resources where code like 'B%'")) or 0
    if have == n:
        return
    session.execute(text("delete from service_resources where code like 'B%'"))
    session.execute(
        text(
            """
            INSERT INTO service_resources (code, type, name, geom)
            SELECT 'B' || g, (ARRAY['repair','elderly_meal_point','childcare','health_station'])[1 + g % 4],
                   'bench ' || g,
                   ST_SetSRID(ST_MakePoint(116.5 + random() * 1.0, 36.3 + random() * 0.8), 4326)
            FROM generate_series(1, :n) g
            """
        ),
        {"n": n},
    )
    session.execute(text("ANALYZE service_resources"))
    session.commit()


def run(resources: int = 1_000_000, queries: int = 300, seed: int = 7) -> dict[str, Any]:
    url = bench_url("w5")  # its own database: beside the demo, W1's nearest resources would probe its 1e6 too
    ensure_database(url)
    upgrade(url)
    engine = create_engine(url)
    rng = random.Random(seed)
    points = [(116.6 + rng.random() * 0.8, 36.4 + rng.random() * 0.6) for _ in range(queries)]
    with Session(engine) as session:
        load_resources(session, resources)
        it = iter(points * 2)
        knn = timed(lambda: nearest_resources(session, *next(it), k=10), queries)
        # the same answer must come from both
        lon, lat = points[0]
        fast = [r["code"] for r in nearest_resources(session, lon, lat, k=10)]
        seq_codes = [r.code for r in session.execute(SEQ_SQL, {"lon": lon, "lat": lat})]
        seq_n = max(5, queries // 30)
        it2 = iter(points)
        seq = timed(lambda: session.execute(SEQ_SQL, dict(zip(("lon", "lat"), next(it2), strict=True))).all(), seq_n)
    engine.dispose()
    knn_s, seq_s = summary(knn), summary(seq)
    result = {
        "resources": resources,
        "knn": knn_s,
        "sequential_scan": seq_s,
        "speedup": round(seq_s["mean_ms"] / knn_s["mean_ms"], 1),
        "same_answer": fast == seq_codes,
        "targets": {"speedup_min": 100, "p99_ms_max": 5},
    }
    result["meets_target"] = result["speedup"] >= 100 and knn_s["p99_ms"] <= 5
    write_result("w5", result)
    return result


if __name__ == "__main__":
    cli(run, __doc__, resources=1_000_000, queries=300)
