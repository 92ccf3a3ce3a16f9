"""Cross-region settlement: filing versions, recognised-disease validity, suspensions of direct settlement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('settlement_suspensions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('treatment_admdvs', sa.String(length=6), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('settlement_suspensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_suspensions_psn_no'), ['psn_no'], unique=False)

    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('insu_admdvs', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('filed_by', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('memo', sa.String(length=500), nullable=True))
        batch_op.alter_column('status',
               existing_type=sa.VARCHAR(length=10),
               type_=sa.String(length=12),
               existing_nullable=False)

    with op.batch_alter_table('person_diseases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('recognized_by', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='active', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('person_diseases', schema=None) as batch_op:
        batch_op.drop_column('status')
        batch_op.drop_column('recognized_by')
        batch_op.drop_column('until')

    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.alter_column('status',
               existing_type=sa.String(length=12),
               type_=sa.VARCHAR(length=10),
               existing_nullable=False)
        batch_op.drop_column('memo')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('created_at')
        batch_op.drop_column('filed_by')
        batch_op.drop_column('insu_admdvs')
        batch_op.drop_column('replaces_id')

    with op.batch_alter_table('settlement_suspensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_suspensions_psn_no'))

    op.drop_table('settlement_suspensions')
