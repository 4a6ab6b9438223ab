"""Lots and expiry: what is on hand per SKU, lot and bin with the lot's expiry, and the
lots each order's pick takes (first expiry first).

Revision ID: 0015
Revises: 0014

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_lots",
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("bin", sa.String(length=20), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stock_lots_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_stock_lots_sku_products")
        ),
        sa.PrimaryKeyConstraint("sku", "lot", "bin", name=op.f("pk_stock_lots")),
    )
    op.create_table(
        "pick_allocations",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("lot", sa.String(length=40), nullable=False),
        sa.Column("bin", sa.String(length=20), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sku", "lot", "bin", name=op.f("pk_pick_allocations")),
    )


def downgrade() -> None:
    op.drop_table("pick_allocations")
    op.drop_table("stock_lots")
