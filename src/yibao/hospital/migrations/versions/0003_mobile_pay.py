"""Payments by the mobile-payment centre: the patient's payAuthNo and the platform's pay order (6201/6202).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("pay_auth_no", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pay_ord_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pay_token", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_payments_pay_ord_id", ["pay_ord_id"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_pay_ord_id", type_="unique")
        batch.drop_column("pay_token")
        batch.drop_column("pay_ord_id")
        batch.drop_column("pay_auth_no")
