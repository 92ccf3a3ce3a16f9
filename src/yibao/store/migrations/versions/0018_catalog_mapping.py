"""Catalog mapping 目录对照 (3301/3302, 1316/1317): an institution's item codes mapped to its region's catalog,
with their history; at most one mapping in force per institution and item code (a partial unique index).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'catalog_mappings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('rid', sa.String(length=30), nullable=False),
        sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
        sa.Column('medins_list_codg', sa.String(length=30), nullable=False),
        sa.Column('medins_list_name', sa.String(length=200), nullable=False),
        sa.Column('list_type', sa.String(length=3), nullable=False),
        sa.Column('med_list_codg', sa.String(length=50), nullable=False),
        sa.Column('catalog_admdvs', sa.String(length=6), nullable=False),
        sa.Column('begndate', sa.Date(), nullable=False),
        sa.Column('enddate', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('info', sa.JSON(), nullable=False),
        sa.Column('opter', sa.String(length=30), nullable=False),
        sa.Column('opter_name', sa.String(length=50), nullable=False),
        sa.Column('msgid', sa.String(length=30), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('ended_by', sa.String(length=30), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_msgid', sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rid'),
    )
    op.create_index('ix_catalog_mappings_inst_updated', 'catalog_mappings', ['fixmedins_code', 'updated_at'])
    op.create_index('uq_catalog_mappings_active', 'catalog_mappings', ['fixmedins_code', 'medins_list_codg'],
                    unique=True, sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index('uq_catalog_mappings_active', table_name='catalog_mappings')
    op.drop_index('ix_catalog_mappings_inst_updated', table_name='catalog_mappings')
    op.drop_table('catalog_mappings')
