"""Products carry the NF-e origin of the goods (orig: 0 national, 1/2/3/8 imported, for
the 4% interstate rate) and their GTIN (cEAN).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 12:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(
            sa.Column('origin', sa.String(length=1), server_default=sa.text("'0'"), nullable=False)
        )
        batch.add_column(
            sa.Column('gtin', sa.String(length=14), server_default=sa.text("''"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.drop_column('gtin')
        batch.drop_column('origin')
