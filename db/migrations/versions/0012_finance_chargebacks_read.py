"""Finance: a receivable's chargebacks are read from receivable_adjustments (no column to
rewrite each night), and each margin line remembers the chargebacks it was computed with
(a new one makes the order's margin stale).

Revision ID: 0012
Revises: 0011

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=12, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_column("charged_back")
    with op.batch_alter_table("margin_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("charged_back", MONEY, server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("margin_lines", schema=None) as batch_op:
        batch_op.drop_column("charged_back")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("charged_back", MONEY, server_default=sa.text("0"), nullable=False)
        )
    op.execute(
        "UPDATE receivables SET charged_back = coalesce((SELECT sum(a.amount) FROM "
        "receivable_adjustments a WHERE a.kind = 'chargeback' AND a.key = receivables.key), 0)"
    )
