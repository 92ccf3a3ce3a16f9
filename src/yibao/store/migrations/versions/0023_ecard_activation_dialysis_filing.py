"""A person's e-credential is activated or not (揭阳 揭医保〔2021〕82号 art. 39: a filed person pays from the
personal account in another region by e-credential only once it is activated); a filing may name the disease it
is for (a dialysis filing names one institution, 中山大学附属第七医院《医保移动支付开发需求书》).

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ecard_activated', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dise_codg', sa.String(30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filings', schema=None) as batch_op:
        batch_op.drop_column('dise_codg')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('ecard_activated')
