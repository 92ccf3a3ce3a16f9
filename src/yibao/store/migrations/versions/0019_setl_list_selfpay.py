"""Settlement lists (4101A: every upload a version, the latest current) and self-pay patients' visits and fee
lines (4201A-4209).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('selfpay_fees',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('fixmedins_mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('bkkp_sn', sa.String(length=30), nullable=False),
    sa.Column('fee_ocur_time', sa.DateTime(), nullable=False),
    sa.Column('med_list_codg', sa.String(length=50), nullable=True),
    sa.Column('medins_list_codg', sa.String(length=150), nullable=True),
    sa.Column('med_chrgitm_type', sa.String(length=6), nullable=True),
    sa.Column('cnt', sa.String(length=32), nullable=False),
    sa.Column('pric', sa.String(length=32), nullable=False),
    sa.Column('det_item_fee_sumamt', sa.BigInteger(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fixmedins_code', 'fixmedins_mdtrt_id', 'bkkp_sn', name='uq_selfpay_fees_sn')
    )
    op.create_table('selfpay_visits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('fixmedins_mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('psn_cert_type', sa.String(length=6), nullable=True),
    sa.Column('certno', sa.String(length=50), nullable=True),
    sa.Column('psn_name', sa.String(length=50), nullable=True),
    sa.Column('med_type', sa.String(length=6), nullable=True),
    sa.Column('begntime', sa.DateTime(), nullable=True),
    sa.Column('medfee_sumamt', sa.BigInteger(), nullable=True),
    sa.Column('vali_flag', sa.String(length=1), nullable=False),
    sa.Column('cplt_flag', sa.String(length=1), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('diagnoses', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fixmedins_code', 'fixmedins_mdtrt_id', name='uq_selfpay_visits_visit')
    )
    op.create_table('setl_lists',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('setl_list_id', sa.String(length=30), nullable=False),
    sa.Column('setl_id', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('vali_flag', sa.String(length=1), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('msgid', sa.String(length=30), nullable=True),
    sa.Column('opter', sa.String(length=30), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('setl_id', 'version', name='uq_setl_lists_version')
    )
    with op.batch_alter_table('setl_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_setl_lists_fixmedins_code'), ['fixmedins_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_setl_lists_setl_list_id'), ['setl_list_id'], unique=False)
        batch_op.create_index('uq_setl_lists_current', ['setl_id'], unique=True, sqlite_where=sa.text("vali_flag = '1'"), postgresql_where=sa.text("vali_flag = '1'"))



def downgrade() -> None:
    with op.batch_alter_table('setl_lists', schema=None) as batch_op:
        batch_op.drop_index('uq_setl_lists_current', sqlite_where=sa.text("vali_flag = '1'"), postgresql_where=sa.text("vali_flag = '1'"))
        batch_op.drop_index(batch_op.f('ix_setl_lists_setl_list_id'))
        batch_op.drop_index(batch_op.f('ix_setl_lists_fixmedins_code'))

    op.drop_table('setl_lists')
    op.drop_table('selfpay_visits')
    op.drop_table('selfpay_fees')
