"""patrols (巡查): assignments (定岗), patrols, GPS fixes (BRIN on time), check-ins, 五必查 answers, 四必到
households and their visits, derived site-days and the nightly 民情工作日志

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _point() -> Geometry:
    return Geometry(geometry_type="POINT", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT", name="geometry",
                    nullable=False)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "patrol_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("subject_kind in ('worker', 'compound')", name="ck_patrol_log_kind"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "subject_kind", "subject", name="uq_patrol_log"),
    )
    op.create_index(op.f("ix_patrol_logs_day"), "patrol_logs", ["day"], unique=False)
    op.create_table(
        "must_visit_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cell_code", sa.String(length=15), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=True),
        sa.Column("building", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("every_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_must_visit_households_cell_code"), "must_visit_households", ["cell_code"], unique=False)
    op.create_table(
        "patrol_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assigned_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("compound_code", "user_id", name="uq_patrol_assignment"),
    )
    op.create_index(op.f("ix_patrol_assignments_compound_code"), "patrol_assignments", ["compound_code"], unique=False)
    op.create_index(op.f("ix_patrol_assignments_user_id"), "patrol_assignments", ["user_id"], unique=False)
    op.create_table(
        "patrol_site_days",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "user_id", "compound_code", name="uq_patrol_site_day"),
    )
    op.create_index(op.f("ix_patrol_site_days_day"), "patrol_site_days", ["day"], unique=False)
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_closed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "client_key", name="uq_patrol_client_key"),
    )
    op.create_index("ix_patrols_user_started", "patrols", ["user_id", "started_at"], unique=False)
    op.create_table(
        "patrol_fixes",
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("accuracy_m", sa.REAL(), nullable=True),
        sa.Column("speed_mps", sa.REAL(), nullable=True),
        sa.Column("heading_deg", sa.REAL(), nullable=True),
        sa.Column("flags", sa.SmallInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrols.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patrol_id", "t"),
    )
    op.create_index("ix_patrol_fixes_t_brin", "patrol_fixes", ["t"], unique=False, postgresql_using="brin")
    op.create_table(
        "patrol_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=100), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=True),
        sa.Column("cell_code", sa.String(length=15), nullable=True),
        sa.Column("t", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", _point(), nullable=False),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrols.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patrol_id", "client_key", name="uq_patrol_visit_client_key"),
    )
    op.create_index("ix_patrol_visits_compound_t", "patrol_visits", ["compound_code", "t"], unique=False)
    op.create_index(op.f("ix_patrol_visits_patrol_id"), "patrol_visits", ["patrol_id"], unique=False)
    op.create_table(
        "household_visits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["must_visit_households.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["visit_id"], ["patrol_visits.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id", "household_id", name="uq_household_visit"),
    )
    op.create_index(op.f("ix_household_visits_household_id"), "household_visits", ["household_id"], unique=False)
    op.create_table(
        "patrol_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photo_ids", sa.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('ok', 'problem')", name="ck_patrol_answer_status"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["visit_id"], ["patrol_visits.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id", "item", name="uq_patrol_answer_item"),
    )


def downgrade() -> None:
    for table in (
        "patrol_answers",
        "household_visits",
        "patrol_visits",
        "patrol_fixes",
        "patrols",
        "patrol_site_days",
        "patrol_assignments",
        "must_visit_households",
        "patrol_logs",
    ):
        op.drop_table(table)
