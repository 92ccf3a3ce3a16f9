"""Hospital baseline: every table of yibao.hospital.db exactly as the last release without migrations (git
3a51ce2) made them by `HospitalDB.create_all`, so a database made that way is stamped at this revision
(HospitalDB.upgrade) and then migrated like one made from nothing. Never edit it: 0002 on brings it to today.

Money columns are BigInteger (integer fen, yibao.store.types.Money), exact decimals String(32)
(yibao.store.types.ExactDecimal): the columns' storage types, so this file never changes with those classes.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_inbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('channel_trade_no', sa.String(length=64), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'event_id')
    )
    op.create_index(op.f('ix_callback_inbox_out_trade_no'), 'callback_inbox', ['out_trade_no'], unique=False)
    op.create_table('departments',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('caty', sa.String(length=6), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('hospital_settings',
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('certno', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('gend', sa.String(length=6), nullable=False),
    sa.Column('brdy', sa.String(length=10), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=True),
    sa.Column('insutype', sa.String(length=6), nullable=True),
    sa.Column('insuplc_admdvs', sa.String(length=6), nullable=True),
    sa.Column('mdtrt_cert_type', sa.String(length=3), nullable=True),
    sa.Column('mdtrt_cert_no', sa.String(length=50), nullable=True),
    sa.Column('card_sn', sa.String(length=32), nullable=True),
    sa.Column('ecard', sa.String(length=100), nullable=True),
    sa.Column('health_code', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('certno'),
    sa.UniqueConstraint('ecard'),
    sa.UniqueConstraint('health_code')
    )
    op.create_index(op.f('ix_patients_psn_no'), 'patients', ['psn_no'], unique=False)
    op.create_table('deposit_accounts',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('balance >= 0', name='deposit_balance_not_negative'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('patient_id')
    )
    op.create_table('deposit_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('ref', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref')
    )
    op.create_index(op.f('ix_deposit_entries_patient_id'), 'deposit_entries', ['patient_id'], unique=False)
    op.create_table('deposit_topups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('topup_no', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('channel_trade_no', sa.String(length=64), nullable=True),
    sa.Column('pay_url', sa.Text(), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('topup_no')
    )
    op.create_index(op.f('ix_deposit_topups_patient_id'), 'deposit_topups', ['patient_id'], unique=False)
    op.create_index(op.f('ix_deposit_topups_status'), 'deposit_topups', ['status'], unique=False)
    op.create_table('deposit_withdrawals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('withdraw_no', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('legs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('withdraw_no')
    )
    op.create_index(op.f('ix_deposit_withdrawals_patient_id'), 'deposit_withdrawals', ['patient_id'], unique=False)
    op.create_table('doctors',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('dept_code', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=50), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dept_code'], ['departments.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('kind_settlements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('no', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=True),
    sa.Column('insutype', sa.String(length=6), nullable=True),
    sa.Column('insuplc_admdvs', sa.String(length=6), nullable=True),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('acct_used_flag', sa.String(length=1), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('outs_2301', sa.JSON(), nullable=False),
    sa.Column('out_pre', sa.Text(), nullable=True),
    sa.Column('out_settle', sa.Text(), nullable=True),
    sa.Column('out_cancel', sa.Text(), nullable=True),
    sa.Column('setl_id', sa.String(length=30), nullable=True),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('cash_amount', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('setl_time', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('no'),
    sa.UniqueConstraint('setl_id')
    )
    op.create_index(op.f('ix_kind_settlements_mdtrt_id'), 'kind_settlements', ['mdtrt_id'], unique=False)
    op.create_index(op.f('ix_kind_settlements_patient_id'), 'kind_settlements', ['patient_id'], unique=False)
    op.create_index(op.f('ix_kind_settlements_setl_time'), 'kind_settlements', ['setl_time'], unique=False)
    op.create_index(op.f('ix_kind_settlements_status'), 'kind_settlements', ['status'], unique=False)
    op.create_table('slots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('doctor_code', sa.String(length=30), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=2), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('fee_code', sa.String(length=50), nullable=False),
    sa.Column('fee_name', sa.String(length=100), nullable=False),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.Column('suspend_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['doctor_code'], ['doctors.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('doctor_code', 'day', 'period')
    )
    op.create_index(op.f('ix_slots_day'), 'slots', ['day'], unique=False)
    op.create_index(op.f('ix_slots_doctor_code'), 'slots', ['doctor_code'], unique=False)
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_bookings_patient_id'), 'bookings', ['patient_id'], unique=False)
    op.create_index(op.f('ix_bookings_slot_id'), 'bookings', ['slot_id'], unique=False)
    op.create_table('notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notices_patient_id'), 'notices', ['patient_id'], unique=False)
    op.create_table('registrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reg_no', sa.String(length=30), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=True),
    sa.Column('visit_info_sent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('refundable', sa.Boolean(), nullable=False),
    sa.Column('refund_reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reg_no')
    )
    op.create_index(op.f('ix_registrations_patient_id'), 'registrations', ['patient_id'], unique=False)
    op.create_index(op.f('ix_registrations_slot_id'), 'registrations', ['slot_id'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('payment_no', sa.String(length=30), nullable=False),
    sa.Column('idem_key', sa.String(length=200), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('bill_nos', sa.JSON(), nullable=False),
    sa.Column('terminal', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('acct_used_flag', sa.String(length=1), nullable=False),
    sa.Column('psn_no', sa.String(length=30), nullable=True),
    sa.Column('insuplc_admdvs', sa.String(length=6), nullable=True),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=True),
    sa.Column('chrg_bchno', sa.String(length=30), nullable=True),
    sa.Column('insurance_status', sa.String(length=12), nullable=False),
    sa.Column('env_2207', sa.Text(), nullable=True),
    sa.Column('env_2208', sa.Text(), nullable=True),
    sa.Column('setl_id', sa.String(length=30), nullable=True),
    sa.Column('out_2204', sa.Text(), nullable=True),
    sa.Column('out_2206', sa.Text(), nullable=True),
    sa.Column('out_2207', sa.Text(), nullable=True),
    sa.Column('out_2208', sa.Text(), nullable=True),
    sa.Column('setl_time', sa.DateTime(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('cash_amount', sa.BigInteger(), nullable=True),
    sa.Column('out_trade_no', sa.String(length=32), nullable=True),
    sa.Column('cash_status', sa.String(length=20), nullable=False),
    sa.Column('channel_trade_no', sa.String(length=64), nullable=True),
    sa.Column('pay_url', sa.Text(), nullable=True),
    sa.Column('payer_ref', sa.String(length=64), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idem_key'),
    sa.UniqueConstraint('out_trade_no'),
    sa.UniqueConstraint('payment_no'),
    sa.UniqueConstraint('setl_id')
    )
    op.create_index(op.f('ix_payments_patient_id'), 'payments', ['patient_id'], unique=False)
    op.create_index(op.f('ix_payments_setl_time'), 'payments', ['setl_time'], unique=False)
    op.create_index(op.f('ix_payments_status'), 'payments', ['status'], unique=False)
    op.create_table('bills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bill_no', sa.String(length=30), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('dept_code', sa.String(length=30), nullable=False),
    sa.Column('doctor_code', sa.String(length=30), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bill_no')
    )
    op.create_index(op.f('ix_bills_patient_id'), 'bills', ['patient_id'], unique=False)
    op.create_index(op.f('ix_bills_registration_id'), 'bills', ['registration_id'], unique=False)
    op.create_index(op.f('ix_bills_status'), 'bills', ['status'], unique=False)
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('refund_no', sa.String(length=32), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('insurance_amount', sa.BigInteger(), nullable=False),
    sa.Column('cash_amount', sa.BigInteger(), nullable=False),
    sa.Column('insurance_status', sa.String(length=12), nullable=False),
    sa.Column('cash_status', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payment_id'),
    sa.UniqueConstraint('refund_no')
    )
    op.create_table('bill_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('med_list_codg', sa.String(length=50), nullable=False),
    sa.Column('medins_list_codg', sa.String(length=150), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pric', sa.String(length=32), nullable=False),
    sa.Column('cnt', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_bill_lines_bill_id'), 'bill_lines', ['bill_id'], unique=False)


def downgrade() -> None:
    op.drop_table('bill_lines')
    op.drop_table('refunds')
    op.drop_table('bills')
    op.drop_table('payments')
    op.drop_table('registrations')
    op.drop_table('notices')
    op.drop_table('bookings')
    op.drop_table('slots')
    op.drop_table('kind_settlements')
    op.drop_table('doctors')
    op.drop_table('deposit_withdrawals')
    op.drop_table('deposit_topups')
    op.drop_table('deposit_entries')
    op.drop_table('deposit_accounts')
    op.drop_table('patients')
    op.drop_table('hospital_settings')
    op.drop_table('departments')
    op.drop_table('callback_inbox')
