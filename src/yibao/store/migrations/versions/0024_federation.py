"""Provinces as nodes of a federation (docs/federation.md): the inbox of messages applied once and the outbox of
messages sent to other nodes.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'federation_inbox',
        sa.Column('msg_id', sa.String(40), primary_key=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('sender', sa.String(6), nullable=False),
        sa.Column('state', sa.String(12), nullable=False),
        sa.Column('psn_no', sa.String(30), nullable=True),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'federation_outbox',
        sa.Column('msg_id', sa.String(40), primary_key=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('peer', sa.String(6), nullable=False),
        sa.Column('state', sa.String(12), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.Column('asked_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_federation_outbox_state', 'federation_outbox', ['state', 'asked_at'])


def downgrade() -> None:
    op.drop_index('ix_federation_outbox_state', table_name='federation_outbox')
    op.drop_table('federation_outbox')
    op.drop_table('federation_inbox')
