"""定岗 assignments keep their history: valid_from / valid_to per compound × worker

A replaced assignment is closed (valid_to), not deleted, so a past day's 定岗 rule is judged against the
assignments in force that day. Existing rows start at their assigned_at. At most one open row per
compound × worker (partial unique index, replacing the plain unique constraint).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrol_assignments", sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True))
    op.add_column("patrol_assignments", sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE patrol_assignments SET valid_from = assigned_at")
    op.alter_column("patrol_assignments", "valid_from", nullable=False, server_default=sa.text("now()"))
    op.create_check_constraint("ck_patrol_assignment_period", "patrol_assignments",
                               "valid_to IS NULL OR valid_to >= valid_from")  # fmt: skip
    op.drop_constraint("uq_patrol_assignment", "patrol_assignments", type_="unique")
    op.create_index("uq_patrol_assignment_open", "patrol_assignments", ["compound_code", "user_id"], unique=True,
                    postgresql_where=sa.text("valid_to IS NULL"))  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_patrol_assignment_open", table_name="patrol_assignments")
    op.execute("DELETE FROM patrol_assignments WHERE valid_to IS NOT NULL")  # history has no place in the old shape
    op.create_unique_constraint("uq_patrol_assignment", "patrol_assignments", ["compound_code", "user_id"])
    op.drop_constraint("ck_patrol_assignment_period", "patrol_assignments", type_="check")
    op.drop_column("patrol_assignments", "valid_to")
    op.drop_column("patrol_assignments", "valid_from")
