"""A catalog download (1301-1315) reuses the file it made for the same content: the platform's files carry the
key of what they hold (institution region, infno, version held, newest version), looked up per institution.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reuse_key', sa.String(80), nullable=True))
        batch_op.create_index('ix_stored_files_reuse', ['fixmedins_code', 'reuse_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stored_files', schema=None) as batch_op:
        batch_op.drop_index('ix_stored_files_reuse')
        batch_op.drop_column('reuse_key')
