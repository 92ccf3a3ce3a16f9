"""Family mutual aid: authorization lifecycle columns and events, accounts of suspended employment, insurance products and purchases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('insurance_products',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('insurer', sa.String(length=200), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('admdvs', 'code')
    )
    op.create_table('insurance_purchases',
    sa.Column('purchase_id', sa.String(length=30), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('product_code', sa.String(length=50), nullable=False),
    sa.Column('insurer', sa.String(length=200), nullable=False),
    sa.Column('premium', sa.BigInteger(), nullable=False),
    sa.Column('acct_pay', sa.BigInteger(), nullable=False),
    sa.Column('acct_mulaid_pay', sa.BigInteger(), nullable=False),
    sa.Column('cash_pay', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('refunded_at', sa.DateTime(), nullable=True),
    sa.Column('refund_id', sa.String(length=30), nullable=True),
    sa.PrimaryKeyConstraint('purchase_id')
    )
    with op.batch_alter_table('insurance_purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insurance_purchases_psn_no'), ['psn_no'], unique=False)

    op.create_table('mutual_aid_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=True),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mutual_aid_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mutual_aid_events_authorization_id'), ['authorization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mutual_aid_events_psn_no'), ['psn_no'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_suspended_employment', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('mutual_aid_authorizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_version', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('committed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mutual_aid_authorizations', schema=None) as batch_op:
        batch_op.drop_column('end_reason')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('committed_at')
        batch_op.drop_column('commitment_version')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('from_suspended_employment')

    with op.batch_alter_table('mutual_aid_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mutual_aid_events_psn_no'))
        batch_op.drop_index(batch_op.f('ix_mutual_aid_events_authorization_id'))

    op.drop_table('mutual_aid_events')
    with op.batch_alter_table('insurance_purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insurance_purchases_psn_no'))

    op.drop_table('insurance_purchases')
    op.drop_table('insurance_products')
