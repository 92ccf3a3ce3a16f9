"""The settlements index the monthly cycle reads, covering on PostgreSQL (index-only scans for the
declaration, 2704 and the 3260 extract).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

INCLUDE = ["kind", "insu_admdvs", "insutype", "clr_type", "refd_setl_flag", "psn_no", "mdtrt_id",
           "medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"]


def upgrade() -> None:
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_settlements_medins_time')
        batch_op.create_index('ix_settlements_medins_time', ['fixmedins_code', 'setl_time', 'setl_id'],
                              unique=False, postgresql_include=INCLUDE)


def downgrade() -> None:
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_settlements_medins_time')
        batch_op.create_index('ix_settlements_medins_time', ['fixmedins_code', 'setl_time'], unique=False)
