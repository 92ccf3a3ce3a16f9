"""The database itself forbids a double effect of messages that race (docs/reliability.md):
an open visit per institution visit number, an unsettled pharmacy sale per sale key, one final settlement per
stay, one active mutual-aid authorization per pair and start, one active filing per person, type, destination and start.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _partial(name: str, table: str, columns: list, where: str) -> None:
    op.create_index(name, table, columns, unique=True, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    with op.batch_alter_table('visits') as batch:
        batch.add_column(sa.Column('sale_key', sa.String(length=64), nullable=True))
    _partial('uq_visits_open_ipt_otp_no', 'visits', ['fixmedins_code', 'ipt_otp_no'],
             "status <> 'cancelled' AND ipt_otp_no IS NOT NULL")
    _partial('uq_visits_open_sale_key', 'visits', ['fixmedins_code', 'sale_key'],
             "status <> 'cancelled' AND sale_key IS NOT NULL")
    _partial('uq_settlements_final_stay', 'settlements', ['mdtrt_id'],
             "status = 'settled' AND kind = 'inpatient' AND mid_setl_flag = '0'")
    _partial('uq_mutual_aid_active_pair', 'mutual_aid_authorizations', ['authorizer', 'beneficiary', 'start'],
             "status = 'active'")
    _partial('uq_filings_active_twin', 'filings',
             ['psn_no', 'type', sa.text("coalesce(dest_admdvs, '')"), sa.text("coalesce(dest_fixmedins, '')"),
              'start'], "status = 'active'")


def downgrade() -> None:
    for name, table in (('uq_filings_active_twin', 'filings'), ('uq_mutual_aid_active_pair', 'mutual_aid_authorizations'),
                        ('uq_settlements_final_stay', 'settlements'), ('uq_visits_open_sale_key', 'visits'),
                        ('uq_visits_open_ipt_otp_no', 'visits')):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table('visits') as batch:
        batch.drop_column('sale_key')
