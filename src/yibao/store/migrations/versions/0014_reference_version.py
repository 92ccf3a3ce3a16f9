"""A reference version: one counter that every change to the reference data bumps (triggers, on both databases),
so each process keeps that data cached until it moves (store/reference.py); and the unsettled lines of a visit
read from an index of their own.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

#: the tables whose rows every message reads and whose changes are rare (yibao load, an agency's act)
TABLES = ('institutions', 'regions', 'region_switches', 'policies', 'catalog_items', 'diseases', 'settings')


def upgrade() -> None:
    op.create_table('reference_version', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('n', sa.BigInteger(), nullable=False))
    op.execute("INSERT INTO reference_version (id, n) VALUES (1, 1)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""CREATE FUNCTION bump_reference_version() RETURNS trigger AS $$
                      BEGIN UPDATE reference_version SET n = n + 1 WHERE id = 1; RETURN NULL; END
                      $$ LANGUAGE plpgsql""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_bumps_reference AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION bump_reference_version()")
    else:
        for table in TABLES:
            for event in ('INSERT', 'UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER {table}_{event.lower()}_bumps_reference AFTER {event} ON {table} "
                           "BEGIN UPDATE reference_version SET n = n + 1 WHERE id = 1; END")
    op.create_index('ix_fee_details_unsettled', 'fee_details', ['mdtrt_id'],
                    sqlite_where=sa.text('setl_id IS NULL'), postgresql_where=sa.text('setl_id IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_fee_details_unsettled', table_name='fee_details')
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_bumps_reference ON {table}")
        op.execute("DROP FUNCTION bump_reference_version()")
    else:
        for table in TABLES:
            for event in ('insert', 'update', 'delete'):
                op.execute(f"DROP TRIGGER {table}_{event}_bumps_reference")
    op.drop_table('reference_version')
