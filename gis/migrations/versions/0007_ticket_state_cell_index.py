"""(state, cell_code) index on tickets for per-cell counts on the operations map

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_state_cell", "tickets", ["state", "cell_code"])


def downgrade() -> None:
    op.drop_index("ix_tickets_state_cell", table_name="tickets")
