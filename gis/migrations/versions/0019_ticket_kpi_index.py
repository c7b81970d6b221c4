"""tickets: the opened_at index covers the columns the KPIs read from the tickets table (index-only scans for the
dashboard's trend, categories and map: a 街道's year at 1e6 tickets without touching the heap), and statistics on
the local month of opened_at (the trend groups by it: ~24 groups known, so PostgreSQL hashes them instead of
sorting every row)

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# gis.evaluation.kpis.TICKET_COLUMNS (minus opened_at, the key)
INCLUDE = [
    "id", "category", "channel", "tier", "state", "cell_code", "compound_code", "community_code", "unit_id",
    "resolved_at", "resolve_due_at", "reopen_count", "overdue",
]  # fmt: skip
# gis.evaluation.kpis._grouping("month"): the expression must be the same for the statistics to apply
MONTH = "date_trunc('month', timezone('Asia/Shanghai', opened_at))"


def upgrade() -> None:
    op.drop_index("ix_tickets_opened_at", table_name="tickets")
    op.create_index("ix_tickets_opened_at", "tickets", ["opened_at"], postgresql_include=INCLUDE)
    op.execute(f"CREATE STATISTICS IF NOT EXISTS st_tickets_opened_month ON ({MONTH}) FROM tickets")


def downgrade() -> None:
    op.execute("DROP STATISTICS IF EXISTS st_tickets_opened_month")
    op.drop_index("ix_tickets_opened_at", table_name="tickets")
    op.create_index("ix_tickets_opened_at", "tickets", ["opened_at"])
