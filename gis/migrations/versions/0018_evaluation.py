"""evaluation: the working calendar as a table (working hours in SQL), the 意见箱 ticket channel, 议事协商
topics / meetings / linked tickets, and the stored 通报 (monthly and quarterly reports)

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OLD_CHANNELS = ("resident", "grid_worker", "patrol", "hotline_12345", "property_400", "open311", "staff")
NEW_CHANNELS = (*OLD_CHANNELS, "suggestion")


def upgrade() -> None:
    op.create_table(
        "work_calendar",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("working_days_before", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.drop_constraint("ck_ticket_channel", "tickets", type_="check")
    op.create_check_constraint("ck_ticket_channel", "tickets", f"channel in {NEW_CHANNELS}")
    op.create_table(
        "consultation_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('open', 'agreed', 'rejected', 'shelved')", name="ck_consultation_status"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_consultation_topics_compound_code"), "consultation_topics", ["compound_code"])
    op.create_table(
        "consultation_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=120), nullable=True),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.Column("agree", sa.Integer(), nullable=False),
        sa.Column("disagree", sa.Integer(), server_default="0", nullable=False),
        sa.Column("abstain", sa.Integer(), server_default="0", nullable=False),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("photo_ids", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attendance >= 0 AND agree >= 0 AND disagree >= 0 AND abstain >= 0",
                           name="ck_consultation_meeting_counts"),  # fmt: skip
        sa.CheckConstraint("agree + disagree + abstain <= attendance", name="ck_consultation_meeting_votes"),
        sa.ForeignKeyConstraint(["topic_id"], ["consultation_topics.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic_id", "round", name="uq_consultation_meeting_round"),
    )
    op.create_index(op.f("ix_consultation_meetings_topic_id"), "consultation_meetings", ["topic_id"])
    op.create_table(
        "consultation_topic_tickets",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["consultation_topics.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("topic_id", "ticket_id"),
    )
    op.create_table(
        "evaluation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("street_code", sa.String(length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("docx", sa.LargeBinary(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('monthly', 'quarterly')", name="ck_evaluation_report_kind"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "street_code", "period_start", name="uq_evaluation_report"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_reports")
    op.drop_table("consultation_topic_tickets")
    op.drop_index(op.f("ix_consultation_meetings_topic_id"), table_name="consultation_meetings")
    op.drop_table("consultation_meetings")
    op.drop_index(op.f("ix_consultation_topics_compound_code"), table_name="consultation_topics")
    op.drop_table("consultation_topics")
    op.drop_constraint("ck_ticket_channel", "tickets", type_="check")
    op.create_check_constraint("ck_ticket_channel", "tickets", f"channel in {OLD_CHANNELS}")
    op.drop_table("work_calendar")
