"""PostgreSQL: vacuum the settlements table after 1% new rows (not the default 20%), so last month's pages are
all-visible by the declaration days and the monthly reads stay index-only (docs/performance.md).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE settlements SET (autovacuum_vacuum_insert_scale_factor = 0.01)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE settlements RESET (autovacuum_vacuum_insert_scale_factor)")
