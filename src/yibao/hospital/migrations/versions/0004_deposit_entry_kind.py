"""deposit_entries.kind wide enough for `withdraw_undo` (13 characters in a column of 12: SQLite let it in,
PostgreSQL refused the entry that gives a refused withdrawal's money back).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deposit_entries") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=12), type_=sa.String(length=16),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("deposit_entries") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=16), type_=sa.String(length=12),
                           existing_nullable=False)
