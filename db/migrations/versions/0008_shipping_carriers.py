"""Shipping across carriers: how each shipment was booked (api, portal, marketplace
logistics), where its label is kept, and the freight choice (the quote taken and the
quotes left aside, with their reasons).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.add_column(
            sa.Column('kind', sa.String(length=20), server_default=sa.text("'api'"), nullable=False)
        )
        batch.add_column(
            sa.Column(
                'label_document', sa.String(length=300), server_default=sa.text("''"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column('freight', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_shipments_carrier'), ['carrier'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.drop_index(batch.f('ix_shipments_carrier'))
        batch.drop_column('freight')
        batch.drop_column('label_document')
        batch.drop_column('kind')
