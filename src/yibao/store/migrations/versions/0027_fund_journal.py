"""The pooled funds' double-entry journal (docs/ledger.md): every movement of a region's fund is an entry whose
lines sum to zero in each book.

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0027'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fund_journal',
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('line', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('book', sa.String(length=6), nullable=False),
    sa.Column('account', sa.String(length=24), nullable=False),
    sa.Column('party', sa.String(length=30), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', 'line')
    )
    with op.batch_alter_table('fund_journal', schema=None) as batch_op:
        batch_op.create_index('ix_fund_journal_book', ['book', 'period', 'account'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_journal_reference'), ['reference'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('fund_journal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_journal_reference'))
        batch_op.drop_index('ix_fund_journal_book')
    op.drop_table('fund_journal')
