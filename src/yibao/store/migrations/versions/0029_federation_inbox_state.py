"""The federation inbox found by kind and state: the insured node's sweeper looks for the settlements a treatment
node on SQLite has yet to confirm (platform/recovery.py) without reading the whole inbox.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""
from alembic import op


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_federation_inbox_state', 'federation_inbox', ['kind', 'state', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_federation_inbox_state', table_name='federation_inbox')
