"""Shipping incidents: a lost, damaged or returned parcel per shipment of an order, the
claim against its carrier (the declared value) and what ops decided (reship names the
replacement's booking reference, `<order>#n`).

Revision ID: 0013
Revises: 0012

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipping_incidents",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("shipment_no", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("carrier", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("shipment_id", sa.String(length=100), nullable=False),
        sa.Column("tracking_code", sa.String(length=60), nullable=False),
        sa.Column("claim_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("replacement", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.String(length=60), server_default=sa.text("''"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('lost', 'damaged', 'returned')", name=op.f("ck_shipping_incidents_status")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('reship', 'returned_to_stock', 'closed')",
            name=op.f("ck_shipping_incidents_resolution"),
        ),
        sa.PrimaryKeyConstraint("order_id", "shipment_no", name=op.f("pk_shipping_incidents")),
        sa.UniqueConstraint("replacement", name=op.f("uq_shipping_incidents_replacement")),
    )


def downgrade() -> None:
    op.drop_table("shipping_incidents")
