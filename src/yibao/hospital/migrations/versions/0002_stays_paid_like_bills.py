"""Stays and sales paid by a Payment like bills (from the release of git 3a51ce2, the baseline 0001, to today's
models before the mobile-payment columns).

- payments: env_2207/env_2208/out_2207/out_2208 renamed env_settle/env_cancel/out_settle/out_cancel (the
  settling and cancelling message of any kind); stay_no (a stay's or sale's number) and device (the card
  terminal) added; registration_id nullable (a stay's payment has none). refunds.registration_id likewise.
- kind_settlements: payment_no and pending added; the settlement columns (out_settle, out_cancel, setl_id,
  cash_amount, channel, setl_time) MOVED onto a payments row per settled or cancelled stay or sale, then dropped.
  The old release took the cash at the desk, so the moved payment has channel 'desk' and no channel order.
  Statuses as today's code has them (cashier.PAYABLE_AGAIN): a cancelled stay is discharged again (its payment
  refunded, so it may be settled again), a cancelled sale stays cancelled, a sale that failed or was left
  settling is open (payable again).
- deposit_topups: idem_key (a retried top-up request returns the first).

Downgrade reverts the schema only while no payment belongs to a stay or sale (none was moved or made): the old
schema cannot hold one, and dropping it would lose a settlement; otherwise it refuses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RENAMED = {"env_2207": "env_settle", "env_2208": "env_cancel", "out_2207": "out_settle", "out_2208": "out_cancel"}
MOVED = ("out_settle", "out_cancel", "setl_id", "cash_amount", "channel", "setl_time")
#: (kind, old status) -> today's status of a stay or sale (others unchanged)
STATUS = {("inpatient", "cancelled"): "discharged", ("retail", "failed"): "open", ("retail", "settling"): "open"}

# the columns read and written, as stored (money: integer fen)
old_stays = sa.table(
    "kind_settlements", sa.column("id", sa.Integer), sa.column("no", sa.String), sa.column("kind", sa.String),
    sa.column("patient_id", sa.Integer), sa.column("psn_no", sa.String), sa.column("insuplc_admdvs", sa.String),
    sa.column("mdtrt_id", sa.String), sa.column("status", sa.String), sa.column("acct_used_flag", sa.String),
    sa.column("total", sa.BigInteger), sa.column("payment_no", sa.String), sa.column("out_settle", sa.Text),
    sa.column("out_cancel", sa.Text), sa.column("setl_id", sa.String), sa.column("cash_amount", sa.BigInteger),
    sa.column("setl_time", sa.DateTime), sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime))
payments = sa.table(
    "payments", sa.column("payment_no", sa.String), sa.column("idem_key", sa.String),
    sa.column("patient_id", sa.Integer), sa.column("registration_id", sa.Integer), sa.column("stay_no", sa.String),
    sa.column("bill_nos", sa.JSON), sa.column("terminal", sa.String), sa.column("device", sa.String),
    sa.column("kind", sa.String), sa.column("total", sa.BigInteger), sa.column("status", sa.String),
    sa.column("insured", sa.Boolean), sa.column("acct_used_flag", sa.String), sa.column("psn_no", sa.String),
    sa.column("insuplc_admdvs", sa.String), sa.column("mdtrt_id", sa.String), sa.column("chrg_bchno", sa.String),
    sa.column("insurance_status", sa.String), sa.column("env_settle", sa.Text), sa.column("env_cancel", sa.Text),
    sa.column("setl_id", sa.String), sa.column("out_2204", sa.Text), sa.column("out_2206", sa.Text),
    sa.column("out_settle", sa.Text), sa.column("out_cancel", sa.Text), sa.column("setl_time", sa.DateTime),
    sa.column("channel", sa.String), sa.column("cash_amount", sa.BigInteger), sa.column("out_trade_no", sa.String),
    sa.column("cash_status", sa.String), sa.column("last_sequence", sa.Integer), sa.column("paid_at", sa.DateTime),
    sa.column("error", sa.Text), sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))


def _move_settlements() -> None:
    """Each stay or sale the old release settled: its settlement onto a payment of its own, named by payment_no."""
    conn = op.get_bind()
    taken = set(conn.scalars(sa.select(payments.c.payment_no)))
    rows = conn.execute(sa.select(old_stays).where(old_stays.c.setl_id.is_not(None)).order_by(old_stays.c.id))
    for row in rows.mappings().all():
        no = ("P" + row["no"])[:30]
        n = 1
        while no in taken:
            n += 1
            no = ("P" + row["no"])[:30 - len(f"#{n}")] + f"#{n}"
        taken.add(no)
        settled = row["status"] == "settled"
        cash = row["cash_amount"]
        conn.execute(payments.insert().values(
            payment_no=no, idem_key=f"stay:{row['no']}", patient_id=row["patient_id"], registration_id=None,
            stay_no=row["no"], bill_nos=[], terminal="desk", device=None, kind=row["kind"], total=row["total"],
            status="paid" if settled else "refunded", insured=True, acct_used_flag=row["acct_used_flag"],
            psn_no=row["psn_no"], insuplc_admdvs=row["insuplc_admdvs"], mdtrt_id=row["mdtrt_id"], chrg_bchno=None,
            insurance_status="settled" if settled else "cancelled", env_settle=None, env_cancel=None,
            setl_id=row["setl_id"], out_2204=None, out_2206=None, out_settle=row["out_settle"],
            out_cancel=row["out_cancel"], setl_time=row["setl_time"], channel="desk", cash_amount=cash,
            out_trade_no=None, cash_status="PAID" if cash else "none", last_sequence=0, error="",
            paid_at=row["setl_time"], created_at=row["created_at"], updated_at=row["updated_at"]))
        conn.execute(old_stays.update().where(old_stays.c.id == row["id"]).values(payment_no=no))
    for (kind, old), new in STATUS.items():
        conn.execute(old_stays.update().where(old_stays.c.kind == kind, old_stays.c.status == old)
                     .values(status=new))


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        for old, new in RENAMED.items():
            batch.alter_column(old, new_column_name=new, existing_type=sa.Text(), existing_nullable=True)
        batch.add_column(sa.Column("stay_no", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("device", sa.String(length=32), nullable=True))
        batch.alter_column("registration_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index(batch.f("ix_payments_stay_no"), ["stay_no"], unique=False)
    with op.batch_alter_table("refunds") as batch:
        batch.alter_column("registration_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("kind_settlements") as batch:
        batch.add_column(sa.Column("payment_no", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("pending", sa.JSON(), nullable=True))
    _move_settlements()
    with op.batch_alter_table("kind_settlements") as batch:
        batch.drop_index(batch.f("ix_kind_settlements_setl_time"))
        if op.get_bind().dialect.name != "sqlite":  # the old create_all's unnamed one; SQLite's goes with the column
            batch.drop_constraint("kind_settlements_setl_id_key", type_="unique")
        for column in MOVED:
            batch.drop_column(column)
    with op.batch_alter_table("deposit_topups") as batch:
        batch.add_column(sa.Column("idem_key", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("deposit_topups_idem_key_key", ["idem_key"])


def downgrade() -> None:
    conn = op.get_bind()
    stays = conn.scalar(sa.select(sa.func.count()).select_from(payments).where(payments.c.stay_no.is_not(None)))
    no_registration = conn.scalar(sa.select(sa.func.count()).select_from(payments)
                                  .where(payments.c.registration_id.is_(None)))
    if stays or no_registration:
        raise NotImplementedError(
            f"0002 is not undone: {stays} payment(s) of stays or sales (and {no_registration} without a "
            "registration) exist, which the schema of 0001 cannot hold; moving them back onto kind_settlements "
            "would lose every attempt but one. Restore a backup taken before the upgrade instead.")
    with op.batch_alter_table("deposit_topups") as batch:
        batch.drop_constraint("deposit_topups_idem_key_key", type_="unique")
        batch.drop_column("idem_key")
    conn.execute(old_stays.update().where(old_stays.c.kind == "retail", old_stays.c.status == "open")
                 .values(status="failed"))
    with op.batch_alter_table("kind_settlements") as batch:
        batch.drop_column("pending")
        batch.drop_column("payment_no")
        batch.add_column(sa.Column("out_settle", sa.Text(), nullable=True))
        batch.add_column(sa.Column("out_cancel", sa.Text(), nullable=True))
        batch.add_column(sa.Column("setl_id", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("cash_amount", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=False, server_default="desk"))
        batch.add_column(sa.Column("setl_time", sa.DateTime(), nullable=True))
        batch.create_unique_constraint("kind_settlements_setl_id_key", ["setl_id"])
        batch.create_index(batch.f("ix_kind_settlements_setl_time"), ["setl_time"], unique=False)
    with op.batch_alter_table("kind_settlements") as batch:  # as create_all made it: no server default
        batch.alter_column("channel", existing_type=sa.String(length=10), existing_nullable=False,
                           server_default=None)
    with op.batch_alter_table("refunds") as batch:
        batch.alter_column("registration_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("payments") as batch:
        batch.drop_index(batch.f("ix_payments_stay_no"))
        batch.alter_column("registration_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("device")
        batch.drop_column("stay_no")
        for old, new in RENAMED.items():
            batch.alter_column(new, new_column_name=old, existing_type=sa.Text(), existing_nullable=True)
