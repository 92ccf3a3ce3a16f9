"""Provinces as nodes of a federation (docs/federation.md): the inbox of messages applied once, the outbox of
messages sent to other nodes, and each end's voucher of a month's clearing between two provinces.

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
    op.create_table(
        'federation_vouchers',
        sa.Column('voucher_id', sa.String(60), primary_key=True),
        sa.Column('side', sa.String(6), primary_key=True),
        sa.Column('month', sa.String(7), nullable=False),
        sa.Column('payer', sa.String(6), nullable=False),
        sa.Column('payee', sa.String(6), nullable=False),
        sa.Column('lines', sa.Integer(), nullable=False),
        sa.Column('fund', sa.BigInteger(), nullable=False),
        sa.Column('acct', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('entries', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('federation_vouchers')
    op.drop_index('ix_federation_outbox_state', table_name='federation_outbox')
    op.drop_table('federation_outbox')
    op.drop_table('federation_inbox')
