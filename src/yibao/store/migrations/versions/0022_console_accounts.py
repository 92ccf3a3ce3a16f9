"""The web console's accounts: staff with a role and a scope (argon2 password hashes), the one-time sign-in codes
sent to insured persons (hashes only) and the signed-in sessions (token hashes only).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_staff',
        sa.Column('username', sa.String(length=40), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('scope', sa.String(length=30), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username'),
    )
    op.create_table(
        'console_codes',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('psn_no', sa.String(length=30), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.BigInteger(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_console_codes_psn_no', 'console_codes', ['psn_no'])
    op.create_table(
        'console_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('subject', sa.String(length=40), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.BigInteger(), nullable=False),
        sa.Column('last_seen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_console_sessions_subject', 'console_sessions', ['subject'])


def downgrade() -> None:
    op.drop_index('ix_console_sessions_subject', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index('ix_console_codes_psn_no', table_name='console_codes')
    op.drop_table('console_codes')
    op.drop_table('console_staff')
