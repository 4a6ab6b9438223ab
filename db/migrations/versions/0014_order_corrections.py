"""Screens: the customer's address or CPF corrected by ops on a stuck order, with the
original kept (who, when, what it was, which step it unblocked).

Revision ID: 0014
Revises: 0013

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("original", sa.JSON(), nullable=False),
        sa.Column("corrected", sa.JSON(), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("error_type", sa.String(length=60), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_corrections")),
        sa.UniqueConstraint("key", name=op.f("uq_order_corrections_key")),
    )
    op.create_index(
        op.f("ix_order_corrections_order_id"), "order_corrections", ["order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_order_corrections_order_id"), table_name="order_corrections")
    op.drop_table("order_corrections")
