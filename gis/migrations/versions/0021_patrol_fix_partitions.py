"""patrol_fixes range-partitioned on t (local months or days, data/config/patrol.yaml `storage`), with a DEFAULT
partition so that no insert ever fails. The new parent is made LIKE the old table INCLUDING ALL, so every index
on it (primary key (patrol_id, t), BRIN on t, and any index an earlier migration added) carries over under its
old name; the foreign key to patrols is added again; the rows are moved. Partitions are created for the periods
the old rows fall in (within the retention) and the current one and `ahead` more; older rows go to DEFAULT.

Revision ID: 0021
Revises: 0019
"""

from alembic import op
from sqlalchemy import text

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLE = "patrol_fixes"
FK = (
    "ALTER TABLE {t} ADD CONSTRAINT patrol_fixes_patrol_id_fkey FOREIGN KEY (patrol_id) REFERENCES patrols (id) "
    "ON DELETE CASCADE"
)


def _indexes(table: str) -> list[tuple[str, bool, str]]:
    """(name, unique, definition from USING on) of a table's indexes."""
    sql = (
        "SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
        "JOIN pg_class AS c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass)"
    )
    rows = op.get_bind().execute(text(sql), {"t": table}).all()
    return [(name, unique, d[d.index(" USING ") :]) for name, unique, d in rows]


def _rename_like(new: str, names: list[tuple[str, bool, str]]) -> None:
    """Give `new`'s indexes the names of the indexes in `names` with the same definition."""
    for name, unique, using in _indexes(new):
        match = next((n for n, u, d in names if u == unique and d == using), None)
        if match is not None and match != name:
            op.execute(f"ALTER INDEX {name} RENAME TO {match}")


def upgrade() -> None:
    from gis.patrol import partitions
    from gis.patrol.config import load_config

    storage = load_config().storage
    _remake("old", " PARTITION BY RANGE (t)")
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF {TABLE} DEFAULT")
    conn = op.get_bind()
    today = conn.execute(text("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")).scalar_one()
    oldest = partitions.months_before(today, storage.retention_months or 1200)
    starts = {
        partitions.period_start(d, storage.period)
        for (d,) in conn.execute(
            text(
                f"SELECT DISTINCT (t AT TIME ZONE 'Asia/Shanghai')::date FROM {TABLE}_old "
                "WHERE t >= CAST(:o AS date) AND t < CAST(:n AS date) + 1"
            ),
            {"o": oldest, "n": today},
        )  # fmt: skip
    }
    for start in sorted(starts):
        hi = partitions.local_midnight(partitions.next_start(start, storage.period))
        partitions.create_partition(
            conn, partitions.partition_name(start, storage.period), partitions.local_midnight(start), hi
        )
    partitions.ensure(conn, today, storage)
    _move("old")


def downgrade() -> None:
    _remake("parted", "")
    _move("parted")  # dropping the partitioned table drops every partition with it


def _remake(suffix: str, partition_by: str) -> None:
    """Rename the table and its indexes out of the way (`_<suffix>`) and make the new one LIKE it, its indexes
    under the old names, the foreign key again."""
    names = _indexes(TABLE)
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_{suffix}")
    for name, _, _ in names:
        op.execute(f"ALTER INDEX {name} RENAME TO {name[:52]}_{suffix}")
    op.execute(f"CREATE TABLE {TABLE} (LIKE {TABLE}_{suffix} INCLUDING ALL){partition_by}")
    _rename_like(TABLE, names)
    op.execute(FK.format(t=TABLE))


def _move(suffix: str) -> None:
    op.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_{suffix}")
    op.execute(f"DROP TABLE {TABLE}_{suffix}")
    op.execute(f"ANALYZE {TABLE}")
