"""patrol_fixes is range-partitioned on `t` (migration 0021): one partition per local month (or day, for a city)
named patrol_fixes_pYYYYMM / patrol_fixes_pYYYYMMDD, plus patrol_fixes_default so that no insert ever fails.
The nightly job creates the next periods ahead (`ensure`) and detaches and drops the partitions wholly past
the retention (`prune`); the derived tables (patrol_site_days, patrol_logs) are not touched, so the 定岗 rule
and the 民情工作日志 of a pruned day still answer. Period, lead and retention: data/config/patrol.yaml `storage`.

Boundaries are local (Asia/Shanghai) midnights, the days the nightly rule reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gis.patrol.config import Storage, load_config

TABLE = "patrol_fixes"
DEFAULT = f"{TABLE}_default"
_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Partition:
    name: str
    lo: datetime | None  # None: the DEFAULT partition
    hi: datetime | None
    rows: int | None = None  # estimated (pg_class.reltuples), -1 when never analysed
    bytes: int | None = None

    def public(self) -> dict[str, Any]:
        lo, hi = (None if v is None else v.astimezone(_TZ) for v in (self.lo, self.hi))
        return {"name": self.name, "from": lo, "to": hi, "rows_estimate": self.rows, "bytes": self.bytes}


def period_start(day: date, period: str) -> date:
    return day.replace(day=1) if period == "month" else day


def next_start(start: date, period: str) -> date:
    if period == "day":
        return start + timedelta(days=1)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=_TZ)


def partition_name(start: date, period: str) -> str:
    return f"{TABLE}_p{start:%Y%m}" if period == "month" else f"{TABLE}_p{start:%Y%m%d}"


_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def list_partitions(conn: Connection | Session) -> list[Partition]:
    """The partitions of patrol_fixes, oldest first, the DEFAULT last."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY c.relname"
        ),
        {"t": TABLE},
    ).all()
    parts = []
    for name, bound, n, size in rows:
        m = _BOUND.search(bound or "")
        if m is None:
            parts.append(Partition(name, None, None, n, size))
            continue
        lo, hi = (conn.execute(text("SELECT CAST(:v AS timestamptz)"), {"v": v}).scalar_one() for v in m.groups())
        parts.append(Partition(name, lo, hi, n, size))
    return sorted(parts, key=lambda p: (p.lo is None, p.lo or datetime.min.replace(tzinfo=_TZ)))


def wanted(today: date, storage: Storage) -> list[tuple[str, datetime, datetime]]:
    """The periods that should exist: the current one and `ahead` more."""
    out = []
    start = period_start(today, storage.period)
    for _ in range(storage.ahead + 1):
        nxt = next_start(start, storage.period)
        out.append((partition_name(start, storage.period), local_midnight(start), local_midnight(nxt)))
        start = nxt
    return out


def create_partition(conn: Connection | Session, name: str, lo: datetime, hi: datetime) -> bool:
    """Create one partition [lo, hi), moving the rows the DEFAULT partition holds for it (a fix stored before
    its period existed); False if a partition already covers any of it."""
    if any(p.lo is not None and p.hi is not None and p.lo < hi and lo < p.hi for p in list_partitions(conn)):
        return False
    bounds = {"lo": lo, "hi": hi}
    conn.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    # a CHECK equal to the bound: ATTACH then need not scan the new table
    conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_t_range CHECK (t >= {_lit(lo)} AND t < {_lit(hi)})"))
    conn.execute(
        text(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE t >= :lo AND t < :hi RETURNING *) "
             f"INSERT INTO {name} SELECT * FROM moved"), bounds,
    )  # fmt: skip
    conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ({_lit(lo)}) TO ({_lit(hi)})"))
    conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_t_range"))  # the partition bound says it now
    return True


def _lit(t: datetime) -> str:
    return f"'{t.isoformat()}'"


def ensure(conn: Connection | Session, today: date, storage: Storage | None = None) -> list[str]:
    """Create the current period's partition and `ahead` more (idempotent); the names created."""
    storage = storage or load_config().storage
    return [name for name, lo, hi in wanted(today, storage) if create_partition(conn, name, lo, hi)]


def prune(conn: Connection | Session, today: date, storage: Storage | None = None, *, dry_run: bool = False
          ) -> list[str]:  # fmt: skip
    """Detach and drop the partitions wholly older than the retention (none when it is null), and delete the
    DEFAULT partition's fixes older than it; the names dropped (or that would be, with dry_run)."""
    storage = storage or load_config().storage
    if storage.retention_months is None:
        return []
    cutoff = local_midnight(months_before(today, storage.retention_months))
    old = [p for p in list_partitions(conn) if p.hi is not None and p.hi <= cutoff]
    if not dry_run:
        for p in old:
            conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {p.name}"))
            conn.execute(text(f"DROP TABLE {p.name}"))
        conn.execute(text(f"DELETE FROM {DEFAULT} WHERE t < :c"), {"c": cutoff})
    return [p.name for p in old]


def months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = (date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m + 1, min(day.day, last))
