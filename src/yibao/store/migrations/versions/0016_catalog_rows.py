"""The published rows of the catalog downloads (1301-1315) and catalog queries (1312, 1318, 1319), each with the
version stamp of its last change, so a HIS downloads only what changed since the version it holds.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'catalog_rows',
        sa.Column('admdvs', sa.String(6), primary_key=True),
        sa.Column('infno', sa.String(4), primary_key=True),
        sa.Column('code', sa.String(80), primary_key=True),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('vali_flag', sa.String(1), nullable=False),
        sa.Column('rid', sa.String(40), nullable=False),
        sa.Column('ver', sa.BigInteger(), nullable=False),
        sa.Column('ver_name', sa.String(100), nullable=False),
        sa.Column('crte_time', sa.DateTime(), nullable=False),
        sa.Column('updt_time', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_catalog_rows_ver', 'catalog_rows', ['admdvs', 'infno', 'ver'])


def downgrade() -> None:
    op.drop_index('ix_catalog_rows_ver', table_name='catalog_rows')
    op.drop_table('catalog_rows')
