"""reference data (issue 13 part A): the audit trail of reference changes, the party hierarchy, and the
columns the admin console writes (organization service area and active flag, 专职/兼职 staff, compound
committee, resource hours in OpenStreetMap syntax)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("service_area", postgresql.ARRAY(sa.String(length=20)), server_default="{}", nullable=False),
    )
    op.add_column("organizations", sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False))
    op.add_column("cell_staff", sa.Column("employment", sa.String(length=10), nullable=True))
    op.create_check_constraint(
        "ck_cell_staff_employment", "cell_staff", "employment is null or employment in ('full_time', 'part_time')"
    )
    op.add_column("compounds", sa.Column("committee", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("service_resources", sa.Column("osm_hours", sa.String(length=255), nullable=True))
    op.create_table(
        "reference_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=60), nullable=True),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("object_key", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("community_code", sa.String(length=20), nullable=True),
        sa.Column("reverts_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "action in ('create', 'update', 'disable', 'enable', 'delete', 'revert')",
            name="ck_reference_change_action",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reverts_id"], ["reference_changes.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reference_changes_object", "reference_changes", ["table_name", "object_key", "at"])
    op.create_index("ix_reference_changes_at", "reference_changes", ["at"])
    op.create_index(op.f("ix_reference_changes_user_id"), "reference_changes", ["user_id"])
    op.create_table(
        "party_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("compound_code", sa.String(length=20), nullable=True),
        sa.Column("building_code", sa.String(length=24), nullable=True),
        sa.Column("leader", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind in ('community_org', 'compound_branch', 'building_group', 'member_household')",
            name="ck_party_unit_kind",
        ),
        sa.CheckConstraint("(kind = 'community_org') = (parent_id is null)", name="ck_party_unit_parent"),
        sa.ForeignKeyConstraint(["parent_id"], ["party_units.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_party_units_parent_id"), "party_units", ["parent_id"])
    op.create_index(op.f("ix_party_units_community_code"), "party_units", ["community_code"])
    op.create_index(op.f("ix_party_units_compound_code"), "party_units", ["compound_code"])


def downgrade() -> None:
    op.drop_table("party_units")
    op.drop_table("reference_changes")
    op.drop_column("service_resources", "osm_hours")
    op.drop_column("compounds", "committee")
    op.drop_constraint("ck_cell_staff_employment", "cell_staff", type_="check")
    op.drop_column("cell_staff", "employment")
    op.drop_column("organizations", "is_active")
    op.drop_column("organizations", "service_area")
