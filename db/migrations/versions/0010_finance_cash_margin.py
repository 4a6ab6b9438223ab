"""Finance, second part: chargebacks on receivables, suppliers on products, payables,
and the contribution margin per order line.

Revision ID: 0010
Revises: 0008

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=12, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("charged_back", MONEY, server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("supplier", sa.String(length=100), server_default=sa.text("''"),
                      nullable=False)
        )  # fmt: skip
    op.create_table(
        "receivable_adjustments",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("kind", "day", "key", name=op.f("pk_receivable_adjustments")),
    )
    with op.batch_alter_table("receivable_adjustments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receivable_adjustments_key"), ["key"], unique=False)
    op.create_table(
        "payables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("supplier", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), server_default=sa.text("''"),
                  nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payables")),
        sa.UniqueConstraint("reference", name=op.f("uq_payables_reference")),
    )  # fmt: skip
    with op.batch_alter_table("payables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payables_due_on"), ["due_on"], unique=False)
    op.create_table(
        "margin_lines",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("supplier", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("commission", MONEY, nullable=False),
        sa.Column("freight", MONEY, nullable=False),
        sa.Column("taxes", MONEY, nullable=False),
        sa.Column("margin", MONEY, nullable=False),
        sa.Column("taxes_from_nfe", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line", name=op.f("pk_margin_lines")),
    )
    with op.batch_alter_table("margin_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_margin_lines_day"), ["day"], unique=False)


def downgrade() -> None:
    op.drop_table("margin_lines")
    op.drop_table("payables")
    op.drop_table("receivable_adjustments")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("supplier")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_column("charged_back")
