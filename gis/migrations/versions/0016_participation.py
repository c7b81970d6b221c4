"""participation (V1–V4): members (双报到) and teams, service items and claims (capacity CHECK, no double booking
by EXCLUDE), the 积分 ledger (append-only by trigger, hash-chained, balances kept by trigger and never negative),
exchange goods, compound bodies (业委会 / 物管会 / 监督员), 监督员 ratings, 联席会议 and the tickets they decide

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# the ledger is append-only: no session setting lets an UPDATE or DELETE through; a purge (demo reload) disables
# the trigger for its own transaction (ALTER TABLE: the owner only), as ticket_events does (migration 0010)
APPEND_ONLY = """
CREATE FUNCTION points_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON points_entries
    FOR EACH ROW EXECUTE FUNCTION points_entries_append_only();
"""

# balances follow the ledger in the same statement; the CHECK (balance >= 0) refuses an overdraft, and the row
# lock of the UPDATE serialises two redemptions of one resident. UPDATE first: an INSERT … ON CONFLICT would check
# the proposed row (a negative first value) before finding the existing one
BALANCE = """
CREATE FUNCTION points_balance_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE points_balances SET balance = balance + NEW.points
    WHERE community_code = NEW.community_code AND user_id = NEW.user_id;
    IF NOT FOUND THEN
        INSERT INTO points_balances (community_code, user_id, balance)
        VALUES (NEW.community_code, NEW.user_id, NEW.points)
        ON CONFLICT (community_code, user_id) DO UPDATE SET balance = points_balances.balance + EXCLUDED.balance;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER points_balance_follow AFTER INSERT ON points_entries
    FOR EACH ROW EXECUTE FUNCTION points_balance_follow();
"""


def upgrade() -> None:
    op.create_table(
        "exchange_goods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("points_cost", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("points_cost > 0", name="ck_goods_cost"),
        sa.CheckConstraint("stock >= 0", name="ck_goods_stock_not_negative"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_code", "name", name="uq_exchange_goods_name"),
    )
    op.create_index(op.f("ix_exchange_goods_community_code"), "exchange_goods", ["community_code"], unique=False)
    op.create_table(
        "compound_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "body in ('owners_committee', 'property_committee', 'supervisor')", name="ck_compound_role_body"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("compound_code", "user_id", "body", name="uq_compound_role"),
    )
    op.create_index(op.f("ix_compound_roles_compound_code"), "compound_roles", ["compound_code"], unique=False)
    op.create_index(op.f("ix_compound_roles_user_id"), "compound_roles", ["user_id"], unique=False)
    op.create_table(
        "joint_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("attendees", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("decisions", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_joint_meetings_community_code"), "joint_meetings", ["community_code"], unique=False)
    op.create_table(
        "participation_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("work_unit", sa.String(length=120), nullable=True),
        sa.Column("skills", sa.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('party_member', 'volunteer')", name="ck_member_kind"),
        sa.CheckConstraint("status in ('pending', 'confirmed', 'rejected')", name="ck_member_status"),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_index(
        op.f("ix_participation_members_community_code"), "participation_members", ["community_code"], unique=False
    )
    op.create_table(
        "points_balances",
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_points_balance_not_negative"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("community_code", "user_id"),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=60), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("(kind = 'earn' AND points > 0) OR (kind = 'redeem' AND points < 0)", name="ck_points_sign"),
        sa.CheckConstraint("kind in ('earn', 'redeem')", name="ck_points_kind"),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_code", "seq", name="uq_points_chain_seq"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_points_entries_user", "points_entries", ["user_id", "community_code"], unique=False)
    op.create_table(
        "property_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("extract(day from month) = 1", name="ck_rating_month_first_day"),
        sa.CheckConstraint("score >= 1 AND score <= 5", name="ck_rating_score"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rater_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("compound_code", "rater_id", "month", name="uq_property_rating_month"),
    )
    op.create_index("ix_property_ratings_org_month", "property_ratings", ["organization_id", "month"], unique=False)
    op.create_table(
        "joint_meeting_tickets",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["joint_meetings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("meeting_id", "ticket_id"),
    )
    op.create_index(op.f("ix_joint_meeting_tickets_ticket_id"), "joint_meeting_tickets", ["ticket_id"], unique=False)
    op.create_table(
        "participation_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["participation_members.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_code", "name", name="uq_team_name"),
    )
    op.create_index(
        op.f("ix_participation_teams_community_code"), "participation_teams", ["community_code"], unique=False
    )
    op.create_table(
        "participation_team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["participation_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["participation_teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "member_id"),
    )
    op.create_index(
        op.f("ix_participation_team_members_member_id"), "participation_team_members", ["member_id"], unique=False
    )
    op.create_geospatial_table(
        "service_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("place_kind", sa.String(length=10), nullable=False),
        sa.Column("place_code", sa.String(length=20), nullable=True),
        sa.Column("place_name", sa.String(length=120), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skills", sa.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("place_kind in ('point', 'compound', 'cell')", name="ck_item_place_kind"),
        sa.CheckConstraint("status in ('open', 'cancelled')", name="ck_item_status"),
        sa.CheckConstraint("capacity > 0", name="ck_item_capacity"),
        sa.CheckConstraint("claimed >= 0 AND claimed <= capacity", name="ck_item_claimed_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_item_window"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["participation_teams.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_service_items_geom", "service_items", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_service_items_community_starts", "service_items", ["community_code", "starts_at"], unique=False)
    op.create_index(op.f("ix_service_items_ticket_id"), "service_items", ["ticket_id"], unique=False)
    op.create_table(
        "service_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="claimed", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_in_m", sa.Float(), nullable=True),
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_out_m", sa.Float(), nullable=True),
        sa.Column("minutes", sa.Float(), nullable=True),
        sa.Column("confirmed_minutes", sa.Float(), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        postgresql.ExcludeConstraint(
            (sa.column("member_id"), "="),
            (sa.text("tstzrange(starts_at, ends_at)"), "&&"),
            where=sa.text("status = 'claimed'"),
            using="gist",
            name="ex_claim_no_overlap",
        ),
        sa.CheckConstraint("status in ('claimed', 'released')", name="ck_claim_status"),
        sa.ForeignKeyConstraint(["claimed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["service_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["participation_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["participation_teams.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_service_claims_item_id"), "service_claims", ["item_id"], unique=False)
    op.create_index(op.f("ix_service_claims_member_id"), "service_claims", ["member_id"], unique=False)
    op.create_index(
        "uq_claim_live",
        "service_claims",
        ["item_id", "member_id"],
        unique=True,
        postgresql_where=sa.text("status = 'claimed'"),
    )
    op.execute(APPEND_ONLY)
    op.execute(BALANCE)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS points_balance_follow ON points_entries")
    op.execute("DROP TRIGGER IF EXISTS points_entries_append_only ON points_entries")
    op.execute("DROP FUNCTION IF EXISTS points_balance_follow()")
    op.execute("DROP FUNCTION IF EXISTS points_entries_append_only()")
    op.drop_index("uq_claim_live", table_name="service_claims", postgresql_where=sa.text("status = 'claimed'"))
    op.drop_index(op.f("ix_service_claims_member_id"), table_name="service_claims")
    op.drop_index(op.f("ix_service_claims_item_id"), table_name="service_claims")
    op.drop_table("service_claims")
    op.drop_index(op.f("ix_service_items_ticket_id"), table_name="service_items")
    op.drop_index("ix_service_items_community_starts", table_name="service_items")
    op.drop_geospatial_index(
        "idx_service_items_geom", table_name="service_items", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("service_items")
    op.drop_index(op.f("ix_participation_team_members_member_id"), table_name="participation_team_members")
    op.drop_table("participation_team_members")
    op.drop_index(op.f("ix_participation_teams_community_code"), table_name="participation_teams")
    op.drop_table("participation_teams")
    op.drop_index(op.f("ix_joint_meeting_tickets_ticket_id"), table_name="joint_meeting_tickets")
    op.drop_table("joint_meeting_tickets")
    op.drop_index("ix_property_ratings_org_month", table_name="property_ratings")
    op.drop_table("property_ratings")
    op.drop_index("ix_points_entries_user", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_table("points_balances")
    op.drop_index(op.f("ix_participation_members_community_code"), table_name="participation_members")
    op.drop_table("participation_members")
    op.drop_index(op.f("ix_joint_meetings_community_code"), table_name="joint_meetings")
    op.drop_table("joint_meetings")
    op.drop_index(op.f("ix_compound_roles_user_id"), table_name="compound_roles")
    op.drop_index(op.f("ix_compound_roles_compound_code"), table_name="compound_roles")
    op.drop_table("compound_roles")
    op.drop_index(op.f("ix_exchange_goods_community_code"), table_name="exchange_goods")
    op.drop_table("exchange_goods")
