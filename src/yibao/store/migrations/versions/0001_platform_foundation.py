"""Platform foundation: regions, policies, catalogs, institutions, persons, accounts, gateway records.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_journal',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('entry_time', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('setl_id', sa.String(length=30), nullable=True),
    sa.Column('beneficiary_psn_no', sa.String(length=30), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_journal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_journal_psn_no'), ['psn_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_journal_setl_id'), ['setl_id'], unique=False)

    op.create_table('accounts',
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('loaded_balance', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('psn_no')
    )
    op.create_table('accumulators',
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=32), nullable=False),
    sa.Column('deductible_used', sa.BigInteger(), nullable=False),
    sa.Column('fund_paid', sa.BigInteger(), nullable=False),
    sa.Column('loaded_deductible', sa.BigInteger(), nullable=True),
    sa.Column('loaded_fund', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('psn_no', 'year', 'bucket')
    )
    op.create_table('catalog_items',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('chrgitm_lv', sa.String(length=3), nullable=False),
    sa.Column('selfpay_prop', sa.JSON(), nullable=False),
    sa.Column('pric_uplmt_amt', sa.String(length=32), nullable=True),
    sa.Column('med_chrgitm_type', sa.String(length=6), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('admdvs', 'code')
    )
    op.create_table('contributions',
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('ym', sa.String(length=7), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('paid', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('psn_no', 'ym', 'insutype')
    )
    op.create_table('diseases',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('admdvs', 'code')
    )
    op.create_table('filings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('dest_admdvs', sa.String(length=6), nullable=True),
    sa.Column('dest_fixmedins', sa.String(length=30), nullable=True),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filings_psn_no'), ['psn_no'], unique=False)

    op.create_table('institutions',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=3), nullable=True),
    sa.Column('xregion', sa.String(length=12), nullable=False),
    sa.Column('internet', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutions_admdvs'), ['admdvs'], unique=False)

    op.create_table('message_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=True),
    sa.Column('infno', sa.String(length=10), nullable=True),
    sa.Column('msgid', sa.String(length=30), nullable=True),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('infcode', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('err_msg', sa.Text(), nullable=True),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.create_index('ix_message_log_inst_msgid', ['fixmedins_code', 'msgid'], unique=False)

    op.create_table('message_replay',
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('msgid', sa.String(length=30), nullable=False),
    sa.Column('infno', sa.String(length=10), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('fixmedins_code', 'msgid')
    )
    op.create_table('mutual_aid_authorizations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('authorizer', sa.String(length=30), nullable=False),
    sa.Column('beneficiary', sa.String(length=30), nullable=False),
    sa.Column('relation', sa.String(length=10), nullable=False),
    sa.Column('quota', sa.BigInteger(), nullable=True),
    sa.Column('quota_used', sa.BigInteger(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mutual_aid_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mutual_aid_authorizations_authorizer'), ['authorizer'], unique=False)
        batch_op.create_index(batch_op.f('ix_mutual_aid_authorizations_beneficiary'), ['beneficiary'], unique=False)

    op.create_table('nonces',
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('fixmedins_code', 'nonce')
    )
    with op.batch_alter_table('nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nonces_seen_at'), ['seen_at'], unique=False)

    op.create_table('person_diseases',
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('psn_no', 'code')
    )
    op.create_table('persons',
    sa.Column('psn_no', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('certno', sa.String(length=50), nullable=False),
    sa.Column('psn_cert_type', sa.String(length=6), nullable=False),
    sa.Column('gend', sa.String(length=6), nullable=False),
    sa.Column('naty', sa.String(length=3), nullable=False),
    sa.Column('brdy', sa.Date(), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('psn_type', sa.String(length=6), nullable=False),
    sa.Column('arrears', sa.Boolean(), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('ecard', sa.String(length=100), nullable=True),
    sa.Column('card_no', sa.String(length=50), nullable=True),
    sa.Column('card_sn', sa.String(length=32), nullable=True),
    sa.Column('emp_name', sa.String(length=200), nullable=True),
    sa.Column('insu_date', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('psn_no'),
    sa.UniqueConstraint('certno'),
    sa.UniqueConstraint('ecard')
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_admdvs'), ['admdvs'], unique=False)
        batch_op.create_index(batch_op.f('ix_persons_card_no'), ['card_no'], unique=False)

    op.create_table('policies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('insutype', sa.String(length=6), nullable=False),
    sa.Column('med_types', sa.JSON(), nullable=False),
    sa.Column('hosp_lv', sa.JSON(), nullable=True),
    sa.Column('bucket', sa.String(length=32), nullable=False),
    sa.Column('deductible', sa.BigInteger(), nullable=False),
    sa.Column('ratio', sa.String(length=32), nullable=False),
    sa.Column('annual_cap', sa.BigInteger(), nullable=False),
    sa.Column('acct_scope', sa.String(length=10), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('switch', sa.String(length=64), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('admdvs', 'fingerprint')
    )
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policies_admdvs'), ['admdvs'], unique=False)

    op.create_table('region_switches',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('on', sa.Boolean(), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('admdvs', 'name')
    )
    op.create_table('regions',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('acct_bookkeeping', sa.Boolean(), nullable=False),
    sa.Column('inprov_outpatient_filing_required', sa.Boolean(), nullable=False),
    sa.Column('referral_filing_max_days', sa.Integer(), nullable=True),
    sa.Column('mutual_aid_enabled', sa.Boolean(), nullable=False),
    sa.Column('authorizer_min_balance', sa.BigInteger(), nullable=True),
    sa.Column('relation_limits', sa.JSON(), nullable=False),
    sa.Column('local_only_diseases', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('admdvs')
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('sign_ins',
    sa.Column('sign_no', sa.String(length=30), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('opter_no', sa.String(length=30), nullable=False),
    sa.Column('biz_date', sa.Date(), nullable=False),
    sa.Column('mac', sa.String(length=20), nullable=True),
    sa.Column('ip', sa.String(length=20), nullable=True),
    sa.Column('signed_in_at', sa.DateTime(), nullable=False),
    sa.Column('signed_out_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sign_no')
    )


def downgrade() -> None:
    op.drop_table('sign_ins')
    op.drop_table('settings')
    op.drop_table('regions')
    op.drop_table('region_switches')
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policies_admdvs'))

    op.drop_table('policies')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_card_no'))
        batch_op.drop_index(batch_op.f('ix_persons_admdvs'))

    op.drop_table('persons')
    op.drop_table('person_diseases')
    with op.batch_alter_table('nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nonces_seen_at'))

    op.drop_table('nonces')
    with op.batch_alter_table('mutual_aid_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mutual_aid_authorizations_beneficiary'))
        batch_op.drop_index(batch_op.f('ix_mutual_aid_authorizations_authorizer'))

    op.drop_table('mutual_aid_authorizations')
    op.drop_table('message_replay')
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_index('ix_message_log_inst_msgid')

    op.drop_table('message_log')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_admdvs'))

    op.drop_table('institutions')
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filings_psn_no'))

    op.drop_table('filings')
    op.drop_table('diseases')
    op.drop_table('contributions')
    op.drop_table('catalog_items')
    op.drop_table('accumulators')
    op.drop_table('accounts')
    with op.batch_alter_table('account_journal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_journal_setl_id'))
        batch_op.drop_index(batch_op.f('ix_account_journal_psn_no'))

    op.drop_table('account_journal')
