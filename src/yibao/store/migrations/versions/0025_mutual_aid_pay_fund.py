"""The fund that pays each mutual-aid amount of a declaration (太原 并医险中心字〔2022〕126号 四): a column on the
declaration's mutual-aid rows.

Revision ID: 0025
Revises: 0020
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0025'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('declaration_mutual_aid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pay_fund', sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('declaration_mutual_aid', schema=None) as batch_op:
        batch_op.drop_column('pay_fund')
