"""ticket_events strictly append-only: no session setting lets a DELETE through any more

A purge (demo reload, tests, benches) disables the trigger for its own transaction with ALTER TABLE, which only
the table's owner may do and which locks the table until commit (gis.tickets.events.purge_events).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STRICT = """
CREATE OR REPLACE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""

LENIENT = """
CREATE OR REPLACE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gridgov.purge_ticket_events', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ticket_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.execute(STRICT)


def downgrade() -> None:
    op.execute(LENIENT)
