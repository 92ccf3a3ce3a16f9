"""Reference snapshots between the nodes of a federation (docs/federation.md): the last version of each
province's reference data a node published (its own provinces) or applied (another's), with its digest; and the
visitor records, persons of another node's province known here only as that node answered for them.

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op


revision = '0028'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('federation_snapshots',
                    sa.Column('province', sa.String(length=2), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('version', sa.Integer(), nullable=False),
                    sa.Column('digest', sa.String(length=64), nullable=False),
                    sa.Column('applied_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('province', 'kind'))
    op.create_table('federation_visitors',
                    sa.Column('psn_no', sa.String(length=30), nullable=False),
                    sa.Column('province', sa.String(length=2), nullable=False),
                    sa.Column('balc', sa.BigInteger(), nullable=True),
                    sa.Column('fetched_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('psn_no'))


def downgrade() -> None:
    op.drop_table('federation_visitors')
    op.drop_table('federation_snapshots')
