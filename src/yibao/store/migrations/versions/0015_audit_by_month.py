"""PostgreSQL: the audit log (message_log) range-partitioned by month on received_at, with a default partition
and the months around now; its id a bigint (four rows a visit outgrow an integer in a year or two at a
province's scale). The partitions ahead and the retention are kept by yibao.store.partitions.maintain.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""
from datetime import date

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _month(day: date, shift: int) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE message_log RENAME TO message_log_unpartitioned")
    op.execute("ALTER INDEX ix_message_log_inst_msgid RENAME TO ix_message_log_unpartitioned_inst_msgid")
    op.execute("ALTER TABLE message_log_unpartitioned RENAME CONSTRAINT message_log_pkey "
               "TO message_log_unpartitioned_pkey")
    op.execute("""CREATE TABLE message_log (
        id BIGINT NOT NULL DEFAULT nextval('message_log_id_seq'),
        received_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        responded_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        duration_ms INTEGER NOT NULL,
        fixmedins_code VARCHAR(30),
        infno VARCHAR(10),
        msgid VARCHAR(30),
        body_sha256 VARCHAR(64) NOT NULL,
        infcode INTEGER NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        err_msg TEXT,
        request TEXT NOT NULL,
        response TEXT NOT NULL,
        PRIMARY KEY (id, received_at)) PARTITION BY RANGE (received_at)""")
    op.execute("ALTER SEQUENCE message_log_id_seq AS BIGINT OWNED BY message_log.id")
    op.execute("CREATE INDEX ix_message_log_inst_msgid ON message_log (fixmedins_code, msgid)")
    op.execute("CREATE TABLE message_log_default PARTITION OF message_log DEFAULT")
    today = date.today()
    for shift in range(-2, 4):
        start = _month(today, shift)
        op.execute(f"CREATE TABLE message_log_{start:%Y%m} PARTITION OF message_log "
                   f"FOR VALUES FROM ('{start}') TO ('{_month(start, 1)}')")
    op.execute("INSERT INTO message_log SELECT * FROM message_log_unpartitioned")
    op.execute("DROP TABLE message_log_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE message_log RENAME TO message_log_partitioned")
    op.execute("ALTER INDEX ix_message_log_inst_msgid RENAME TO ix_message_log_partitioned_inst_msgid")
    op.execute("CREATE TABLE message_log (LIKE message_log_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE message_log ADD PRIMARY KEY (id)")
    op.execute("ALTER SEQUENCE message_log_id_seq OWNED BY message_log.id")
    op.execute("CREATE INDEX ix_message_log_inst_msgid ON message_log (fixmedins_code, msgid)")
    op.execute("INSERT INTO message_log SELECT * FROM message_log_partitioned")
    op.execute("DROP TABLE message_log_partitioned CASCADE")
