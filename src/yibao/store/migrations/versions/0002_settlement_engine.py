"""Settlement engine: visits, fee details, settlements and their funds, the bank outbox, exchanged files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_outbox',
    sa.Column('instruction_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('acct_admdvs', sa.String(length=6), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('setl_id', sa.String(length=30), nullable=False),
    sa.Column('beneficiary_psn_no', sa.String(length=30), nullable=True),
    sa.Column('journal_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('instruction_id')
    )
    with op.batch_alter_table('bank_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_bank_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_outbox_setl_id'), ['setl_id'], unique=False)

    op.create_table('fee_details',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('feedetl_sn', sa.String(length=30), nullable=False),
    sa.Column('chrg_bchno', sa.String(length=30), nullable=True),
    sa.Column('init_feedetl_sn', sa.String(length=30), nullable=True),
    sa.Column('med_list_codg', sa.String(length=50), nullable=False),
    sa.Column('medins_list_codg', sa.String(length=150), nullable=True),
    sa.Column('list_name', sa.String(length=200), nullable=True),
    sa.Column('fee_ocur_time', sa.DateTime(), nullable=False),
    sa.Column('pric', sa.String(length=32), nullable=False),
    sa.Column('cnt', sa.String(length=32), nullable=False),
    sa.Column('det_item_fee_sumamt', sa.BigInteger(), nullable=False),
    sa.Column('fulamt_ownpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('overlmt_amt', sa.BigInteger(), nullable=False),
    sa.Column('preselfpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('inscp_scp_amt', sa.BigInteger(), nullable=False),
    sa.Column('pric_uplmt_amt', sa.String(length=32), nullable=True),
    sa.Column('selfpay_prop', sa.String(length=32), nullable=False),
    sa.Column('chrgitm_lv', sa.String(length=3), nullable=False),
    sa.Column('med_chrgitm_type', sa.String(length=6), nullable=True),
    sa.Column('catalog_admdvs', sa.String(length=6), nullable=False),
    sa.Column('dise_codg', sa.String(length=30), nullable=True),
    sa.Column('setl_id', sa.String(length=30), nullable=True),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mdtrt_id', 'feedetl_sn')
    )
    with op.batch_alter_table('fee_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_details_mdtrt_id'), ['mdtrt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fee_details_setl_id'), ['setl_id'], unique=False)

    op.create_table('settlement_funds',
    sa.Column('setl_id', sa.String(length=30), nullable=False),
    sa.Column('fund_pay_type', sa.String(length=6), nullable=False),
    sa.Column('fund_pay_type_name', sa.String(length=200), nullable=False),
    sa.Column('inscp_scp_amt', sa.BigInteger(), nullable=False),
    sa.Column('crt_payb_lmt_amt', sa.BigInteger(), nullable=False),
    sa.Column('fund_payamt', sa.BigInteger(), nullable=False),
    sa.Column('setl_proc_info', sa.String(length=4000), nullable=True),
    sa.PrimaryKeyConstraint('setl_id', 'fund_pay_type')
    )
    op.create_table('settlements',
    sa.Column('setl_id', sa.String(length=30), nullable=False),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('med_type', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('clr_type', sa.String(length=6), nullable=False),
    sa.Column('setl_time', sa.DateTime(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=32), nullable=False),
    sa.Column('refd_setl_flag', sa.String(length=1), nullable=False),
    sa.Column('init_setl_id', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('mid_setl_flag', sa.String(length=1), nullable=False),
    sa.Column('chrg_bchno', sa.String(length=30), nullable=True),
    sa.Column('medfee_sumamt', sa.BigInteger(), nullable=False),
    sa.Column('fulamt_ownpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('overlmt_selfpay', sa.BigInteger(), nullable=False),
    sa.Column('preselfpay_amt', sa.BigInteger(), nullable=False),
    sa.Column('inscp_scp_amt', sa.BigInteger(), nullable=False),
    sa.Column('act_pay_dedc', sa.BigInteger(), nullable=False),
    sa.Column('hifp_pay', sa.BigInteger(), nullable=False),
    sa.Column('pool_prop_selfpay', sa.String(length=32), nullable=False),
    sa.Column('cvlserv_pay', sa.BigInteger(), nullable=False),
    sa.Column('hifes_pay', sa.BigInteger(), nullable=False),
    sa.Column('hifmi_pay', sa.BigInteger(), nullable=False),
    sa.Column('hifob_pay', sa.BigInteger(), nullable=False),
    sa.Column('maf_pay', sa.BigInteger(), nullable=False),
    sa.Column('oth_pay', sa.BigInteger(), nullable=False),
    sa.Column('fund_pay_sumamt', sa.BigInteger(), nullable=False),
    sa.Column('psn_part_amt', sa.BigInteger(), nullable=False),
    sa.Column('acct_pay', sa.BigInteger(), nullable=False),
    sa.Column('acct_mulaid_pay', sa.BigInteger(), nullable=False),
    sa.Column('psn_cash_pay', sa.BigInteger(), nullable=False),
    sa.Column('hosp_part_amt', sa.BigInteger(), nullable=False),
    sa.Column('balc', sa.BigInteger(), nullable=False),
    sa.Column('catalog_admdvs', sa.String(length=6), nullable=False),
    sa.Column('policy_admdvs', sa.String(length=6), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('insu_admdvs', sa.String(length=6), nullable=False),
    sa.Column('acct_admdvs', sa.String(length=6), nullable=True),
    sa.Column('acct_mulaid_admdvs', sa.String(length=6), nullable=True),
    sa.Column('pay_loc', sa.String(length=3), nullable=False),
    sa.Column('clr_optins', sa.String(length=6), nullable=False),
    sa.Column('clr_way', sa.String(length=6), nullable=False),
    sa.Column('msgid', sa.String(length=30), nullable=True),
    sa.Column('invono', sa.String(length=30), nullable=True),
    sa.Column('dise_codg', sa.String(length=30), nullable=True),
    sa.Column('dise_name', sa.String(length=500), nullable=True),
    sa.Column('opter', sa.String(length=30), nullable=True),
    sa.Column('opter_name', sa.String(length=50), nullable=True),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('setl_id')
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_fixmedins_code'), ['fixmedins_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_mdtrt_id'), ['mdtrt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_psn_no'), ['psn_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_setl_time'), ['setl_time'], unique=False)

    op.create_table('stored_files',
    sa.Column('file_qury_no', sa.String(length=40), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('dld_endtime', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('file_qury_no')
    )
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_files_fixmedins_code'), ['fixmedins_code'], unique=False)

    op.create_table('visits',
    sa.Column('mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('med_type', sa.String(length=6), nullable=True),
    sa.Column('insuplc_admdvs', sa.String(length=6), nullable=False),
    sa.Column('mdtrtarea_admvs', sa.String(length=6), nullable=False),
    sa.Column('ipt_otp_no', sa.String(length=30), nullable=True),
    sa.Column('begntime', sa.DateTime(), nullable=False),
    sa.Column('endtime', sa.DateTime(), nullable=True),
    sa.Column('dise_codg', sa.String(length=30), nullable=True),
    sa.Column('dise_name', sa.String(length=500), nullable=True),
    sa.Column('mdtrt_cert_type', sa.String(length=3), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('mdtrt_id')
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_fixmedins_code'), ['fixmedins_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_visits_psn_no'), ['psn_no'], unique=False)

    with op.batch_alter_table('account_journal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_id', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('account_journal', schema=None) as batch_op:
        batch_op.drop_column('authorization_id')

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_psn_no'))
        batch_op.drop_index(batch_op.f('ix_visits_fixmedins_code'))

    op.drop_table('visits')
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_files_fixmedins_code'))

    op.drop_table('stored_files')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_setl_time'))
        batch_op.drop_index(batch_op.f('ix_settlements_psn_no'))
        batch_op.drop_index(batch_op.f('ix_settlements_mdtrt_id'))
        batch_op.drop_index(batch_op.f('ix_settlements_fixmedins_code'))

    op.drop_table('settlements')
    op.drop_table('settlement_funds')
    with op.batch_alter_table('fee_details', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_details_setl_id'))
        batch_op.drop_index(batch_op.f('ix_fee_details_mdtrt_id'))

    op.drop_table('fee_details')
    with op.batch_alter_table('bank_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_outbox_setl_id'))
        batch_op.drop_index('ix_bank_outbox_due')

    op.drop_table('bank_outbox')
