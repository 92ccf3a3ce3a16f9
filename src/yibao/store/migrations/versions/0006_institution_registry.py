"""The registry of institutions' cross-region agreements (opened, suspended, resumed, ended from a date).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('institution_status_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('change', sa.String(length=12), nullable=False),
    sa.Column('effective', sa.Date(), nullable=False),
    sa.Column('reported_by', sa.String(length=6), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('institution_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_status_changes_fixmedins_code'), ['fixmedins_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('institution_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_status_changes_fixmedins_code'))

    op.drop_table('institution_status_changes')
