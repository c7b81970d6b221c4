"""(type, geom) GiST index on service_resources for per-type nearest queries

Revision ID: 0005
Revises: 0003
"""

from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index(
        "ix_service_resources_type_geom", "service_resources", ["type", "geom"], postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_service_resources_type_geom", table_name="service_resources")
