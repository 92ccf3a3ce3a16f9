"""Reimbursement coordination (零星报销协办): requests, their deadlines, the claim settled and its payment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coordination_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('insu_admdvs', sa.String(length=6), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('treatment_admdvs', sa.String(length=6), nullable=False),
    sa.Column('begndate', sa.Date(), nullable=False),
    sa.Column('enddate', sa.Date(), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('dispatch_deadline', sa.Date(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(), nullable=True),
    sa.Column('upload_deadline', sa.Date(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=True),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=True),
    sa.Column('setl_id', sa.String(length=30), nullable=True),
    sa.Column('pay_method', sa.String(length=8), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=True),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('journal_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('coordination_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordination_requests_fixmedins_code'), ['fixmedins_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordination_requests_insu_admdvs'), ['insu_admdvs'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordination_requests_psn_no'), ['psn_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordination_requests_setl_id'), ['setl_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordination_requests_treatment_admdvs'), ['treatment_admdvs'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('coordination_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordination_requests_treatment_admdvs'))
        batch_op.drop_index(batch_op.f('ix_coordination_requests_setl_id'))
        batch_op.drop_index(batch_op.f('ix_coordination_requests_psn_no'))
        batch_op.drop_index(batch_op.f('ix_coordination_requests_insu_admdvs'))
        batch_op.drop_index(batch_op.f('ix_coordination_requests_fixmedins_code'))

    op.drop_table('coordination_requests')
