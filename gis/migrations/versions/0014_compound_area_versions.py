"""versioned compounds and communities: compound_versions and admin_area_versions, kept by triggers

Every writer of `compounds` and `admin_areas` versions alike (plan commits, the demo loader, reference-sheet
imports, the console): an insert opens a version, a change of a versioned column closes the live version and
opens the next, a delete closes it. The moment is the transaction setting `gridgov.valid_at` when set (a plan
commit sets its commit time), else now(); an insert without it opens with valid_from NULL ("since records
began"), so a date before the load still sees the loaded rows. Existing rows get their first version here.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _area() -> Geometry:
    return Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT",
                    name="geometry", nullable=False)  # fmt: skip


# (table, version table, id column, versioned columns)
TABLES = (
    ("compounds", "compound_versions", "compound_id", ("code", "name", "kind", "address", "households", "community_id")),
    ("admin_areas", "admin_area_versions", "area_id", ("code", "name", "level", "parent_id", "party_org", "secretary",
                                                       "phone")),
)  # fmt: skip


def _function(table: str, versions: str, id_col: str, cols: tuple[str, ...]) -> str:
    names = ", ".join(cols)
    new = ", ".join(f"NEW.{c}" for c in cols)
    sets = ", ".join(f"{c} = NEW.{c}" for c in cols)
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in (*cols, "geom"))
    return f"""
CREATE OR REPLACE FUNCTION {table}_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := nullif(current_setting('gridgov.valid_at', true), '')::timestamptz;
    live {versions}%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {versions} ({id_col}, {names}, valid_from, geom) VALUES (NEW.id, {new}, at, NEW.geom);
        RETURN NEW;
    END IF;
    at := coalesce(at, now());
    SELECT * INTO live FROM {versions} WHERE {id_col} = OLD.id AND valid_to IS NULL FOR UPDATE;
    IF TG_OP = 'DELETE' THEN
        IF live.valid_from IS NOT NULL AND live.valid_from >= at THEN
            DELETE FROM {versions} WHERE id = live.id;  -- opened in this same moment: never in force
        ELSE
            UPDATE {versions} SET valid_to = at WHERE id = live.id;
        END IF;
        RETURN OLD;
    END IF;
    IF NOT ({changed}) THEN
        RETURN NEW;
    END IF;
    IF live.id IS NOT NULL AND live.valid_from IS NOT NULL AND live.valid_from >= at THEN
        -- changed again in the moment it was opened: one version, not a zero-length one
        UPDATE {versions} SET {sets}, geom = NEW.geom WHERE id = live.id;
    ELSE
        UPDATE {versions} SET valid_to = at WHERE id = live.id;
        INSERT INTO {versions} ({id_col}, {names}, valid_from, geom) VALUES (NEW.id, {new}, at, NEW.geom);
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "compound_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("geom", _area()),
        sa.CheckConstraint(
            "valid_to is null or valid_from is null or valid_to > valid_from", name="ck_compound_validity"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_compound_versions_geom", "compound_versions", ["geom"], unique=False, postgresql_using="gist",
        postgresql_ops={},
    )  # fmt: skip
    op.create_index(op.f("ix_compound_versions_code"), "compound_versions", ["code"], unique=False)
    op.create_index(op.f("ix_compound_versions_compound_id"), "compound_versions", ["compound_id"], unique=False)
    op.create_index(
        "ix_compound_versions_live", "compound_versions", ["compound_id"], unique=True,
        postgresql_where=sa.text("valid_to is null"),
    )  # fmt: skip
    op.create_table(
        "admin_area_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("party_org", sa.String(length=120), nullable=True),
        sa.Column("secretary", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("geom", _area()),
        sa.CheckConstraint("valid_to is null or valid_from is null or valid_to > valid_from", name="ck_area_validity"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_admin_area_versions_geom", "admin_area_versions", ["geom"], unique=False, postgresql_using="gist",
        postgresql_ops={},
    )  # fmt: skip
    op.create_index(op.f("ix_admin_area_versions_code"), "admin_area_versions", ["code"], unique=False)
    op.create_index(op.f("ix_admin_area_versions_area_id"), "admin_area_versions", ["area_id"], unique=False)
    op.create_index(
        "ix_admin_area_versions_live", "admin_area_versions", ["area_id"], unique=True,
        postgresql_where=sa.text("valid_to is null"),
    )  # fmt: skip
    for table, versions, id_col, cols in TABLES:
        names = ", ".join(cols)
        op.execute(
            f"INSERT INTO {versions} ({id_col}, {names}, valid_from, geom) SELECT id, {names}, NULL, geom FROM {table}"
        )
        op.execute(_function(table, versions, id_col, cols))
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_version()"
        )


def downgrade() -> None:
    for table, versions, _, _ in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_version()")
        op.drop_table(versions)
