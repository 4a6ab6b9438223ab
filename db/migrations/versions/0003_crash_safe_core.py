"""Crash-safe core: an NF-e number allocated to an order that never used it is voided.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.drop_column('voided_at')
