"""plan_areas (compound and community boundaries in plans) and plan_imports (background imports with progress)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "plan_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("base_hash", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT",
                     name="geometry"),
            nullable=True,
        ),
        sa.Column(
            "old_geom",
            Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT",
                     name="geometry"),
            nullable=True,
        ),
        sa.CheckConstraint("action in ('add', 'change', 'remove')", name="ck_plan_area_action"),
        sa.CheckConstraint("layer in ('compound', 'community')", name="ck_plan_area_layer"),
        sa.ForeignKeyConstraint(["plan_id"], ["boundary_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "layer", "code", name="uq_plan_area_code"),
    )
    op.create_geospatial_index(
        "idx_plan_areas_geom", "plan_areas", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_plan_areas_plan_id"), "plan_areas", ["plan_id"], unique=False)
    op.create_table(
        "plan_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="queued", nullable=False),
        sa.Column("stage", sa.String(length=40), server_default="queued", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status in ('queued', 'running', 'done', 'failed')", name="ck_plan_import_status"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["plan_id"], ["boundary_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_plan_imports_plan_id"), "plan_imports", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_imports_plan_id"), table_name="plan_imports")
    op.drop_table("plan_imports")
    op.drop_index(op.f("ix_plan_areas_plan_id"), table_name="plan_areas")
    op.drop_geospatial_index(
        "idx_plan_areas_geom", table_name="plan_areas", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("plan_areas")
