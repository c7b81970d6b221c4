"""property companies are their own role (`property`); cell staff carry a published duty phone

- users.role may be 'property' (物业公司 accounts: their compounds and the tickets routed to them, H3); the demo's
  property-company accounts, which had the `department` role, get it.
- cell_staff.duty_phone: the number published for a cell's manager / worker (责任公示牌, locate, public maps),
  instead of the account's own mobile (M13). Existing rows keep publishing what they published: the account's
  phone is copied once, and from then on the two are separate.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD_ROLES = "('admin', 'planner', 'manager', 'grid_worker', 'department', 'resident')"
NEW_ROLES = "('admin', 'planner', 'manager', 'grid_worker', 'department', 'property', 'resident')"

# Accounts of property companies, by their organisation's kind.
_TO_PROPERTY = """
UPDATE users SET role = 'property'
WHERE role = 'department'
  AND organization_id IN (SELECT id FROM organizations WHERE kind = 'property_company')
"""
_TO_DEPARTMENT = "UPDATE users SET role = 'department' WHERE role = 'property'"


def upgrade() -> None:
    op.drop_constraint("ck_user_role", "users", type_="check")
    op.create_check_constraint("ck_user_role", "users", f"role in {NEW_ROLES}")
    op.execute(_TO_PROPERTY)
    op.add_column("cell_staff", sa.Column("duty_phone", sa.String(length=40), nullable=True))
    op.execute("UPDATE cell_staff cs SET duty_phone = u.phone FROM users u WHERE u.id = cs.user_id")


def downgrade() -> None:
    op.drop_column("cell_staff", "duty_phone")
    op.execute(_TO_DEPARTMENT)
    op.drop_constraint("ck_user_role", "users", type_="check")
    op.create_check_constraint("ck_user_role", "users", f"role in {OLD_ROLES}")
