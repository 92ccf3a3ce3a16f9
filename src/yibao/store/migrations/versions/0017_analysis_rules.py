"""Pre- and mid-event analysis: a region's rules, the 3101/3102 results with their 3103 feedback, and the review's
suggestions (docs/analysis.md).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis_rules',
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('rule_id', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('severity', sa.String(length=3), nullable=False),
    sa.Column('vola_bhvr_type', sa.String(length=3), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('admdvs', 'rule_id')
    )
    op.create_table('analysis_results',
    sa.Column('jr_id', sa.String(length=50), nullable=False),
    sa.Column('fixmedins_code', sa.String(length=30), nullable=False),
    sa.Column('infno', sa.String(length=10), nullable=False),
    sa.Column('trig_scen', sa.String(length=3), nullable=False),
    sa.Column('task_id', sa.String(length=50), nullable=False),
    sa.Column('patn_id', sa.String(length=50), nullable=False),
    sa.Column('mdtrt_id', sa.String(length=50), nullable=False),
    sa.Column('admdvs', sa.String(length=6), nullable=False),
    sa.Column('rule_id', sa.String(length=50), nullable=False),
    sa.Column('sev_deg', sa.String(length=3), nullable=False),
    sa.Column('vola_amt', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('warn_type', sa.String(length=3), nullable=True),
    sa.Column('dspo_way', sa.String(length=3), nullable=True),
    sa.Column('dspo_way_rea', sa.String(length=500), nullable=True),
    sa.Column('fed_back_at', sa.DateTime(), nullable=True),
    sa.Column('fed_back_by', sa.String(length=50), nullable=True),
    sa.PrimaryKeyConstraint('jr_id')
    )
    with op.batch_alter_table('analysis_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_results_fixmedins_code'), ['fixmedins_code'], unique=False)

    op.create_table('review_suggestions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('decl_id', sa.String(length=40), nullable=False),
    sa.Column('setl_id', sa.String(length=30), nullable=False),
    sa.Column('mdtrt_id', sa.String(length=30), nullable=False),
    sa.Column('fee_id', sa.Integer(), nullable=False),
    sa.Column('feedetl_sn', sa.String(length=30), nullable=False),
    sa.Column('med_list_codg', sa.String(length=50), nullable=False),
    sa.Column('rule_id', sa.String(length=50), nullable=False),
    sa.Column('sev_deg', sa.String(length=3), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('vola_amt', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('decl_id', 'fee_id', 'rule_id', name='uq_review_suggestions_line_rule')
    )
    with op.batch_alter_table('review_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_suggestions_decl_id'), ['decl_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_suggestions_decl_id'))
    op.drop_table('review_suggestions')
    with op.batch_alter_table('analysis_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_results_fixmedins_code'))
    op.drop_table('analysis_results')
    op.drop_table('analysis_rules')
