"""The agencies' duties (seed 004 art. 28, 30, 38): complaints of cross-region patients, 违约金 imposed in
review, and the history of region switches changed by the agency from a date (which, like the switches
themselves, bumps the reference version so every process sees a change with its next message).

Revision ID: 0026
Revises: 0020
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op


revision = '0026'
down_revision = '0021'
branch_labels = None
depends_on = None

MONEY = sa.BigInteger()  # fen (sqlkit.Money)


def upgrade() -> None:
    op.create_table('switch_changes',
                    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column('admdvs', sa.String(6), nullable=False),
                    sa.Column('name', sa.String(64), nullable=False),
                    sa.Column('on', sa.Boolean(), nullable=False),
                    sa.Column('effective', sa.Date(), nullable=False),
                    sa.Column('changed_by', sa.String(40), nullable=False),
                    sa.Column('why', sa.String(500), nullable=False),
                    sa.Column('recorded_at', sa.DateTime(), nullable=False))
    op.create_index('ix_switch_changes_admdvs', 'switch_changes', ['admdvs'])
    op.create_table('liquidated_damages',
                    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column('decl_id', sa.String(40), nullable=False),
                    sa.Column('fixmedins_code', sa.String(30), nullable=False),
                    sa.Column('admdvs', sa.String(6), nullable=False),
                    sa.Column('insutype', sa.String(6), nullable=False),
                    sa.Column('amount', MONEY, nullable=False),
                    sa.Column('reason', sa.String(500), nullable=False),
                    sa.Column('imposed_at', sa.DateTime(), nullable=False))
    op.create_index('ix_liquidated_damages_decl_id', 'liquidated_damages', ['decl_id'])
    op.create_table('complaints',
                    sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column('psn_no', sa.String(30), nullable=False),
                    sa.Column('fixmedins_code', sa.String(30), nullable=False),
                    sa.Column('treatment_admdvs', sa.String(6), nullable=False),
                    sa.Column('setl_id', sa.String(30), nullable=True),
                    sa.Column('content', sa.String(2000), nullable=False),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('filed_at', sa.DateTime(), nullable=False),
                    sa.Column('accepted_at', sa.DateTime(), nullable=True),
                    sa.Column('answer', sa.String(2000), nullable=True),
                    sa.Column('answered_at', sa.DateTime(), nullable=True),
                    sa.Column('serious_violation', sa.Boolean(), nullable=False),
                    sa.Column('reported_at', sa.DateTime(), nullable=True))
    op.create_index('ix_complaints_psn_no', 'complaints', ['psn_no'])
    op.create_index('ix_complaints_treatment_admdvs', 'complaints', ['treatment_admdvs'])
    # a switch change is reference data as the switches are (migration 0014)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE TRIGGER switch_changes_bumps_reference AFTER INSERT OR UPDATE OR DELETE ON "
                   "switch_changes FOR EACH ROW EXECUTE FUNCTION bump_reference_version()")
    else:
        for event in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER switch_changes_{event.lower()}_bumps_reference AFTER {event} ON "
                       "switch_changes BEGIN UPDATE reference_version SET n = n + 1 WHERE id = 1; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER switch_changes_bumps_reference ON switch_changes")
    else:
        for event in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER switch_changes_{event}_bumps_reference")
    op.drop_table('complaints')
    op.drop_table('liquidated_damages')
    op.drop_table('switch_changes')
