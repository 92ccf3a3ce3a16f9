"""Stored answers are sealed at rest (docs/reliability.md); what a reversal (2601) needs of the original, the id
of the settlement or visit it made, is kept beside them in the clear.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message_replay') as batch:
        batch.add_column(sa.Column('effect_id', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message_replay') as batch:
        batch.drop_column('effect_id')
