"""Contingency: the authorisers' outages (108/109 since when) and each emission's
journal (a normal send with no answer yet; the SVC emission's tpEmis, since and why).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'sefaz_outages',
        sa.Column('authoriser', sa.String(length=20), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cstat', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('authoriser', name=op.f('pk_sefaz_outages')),
    )
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.add_column(
            sa.Column('in_doubt', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column('contingency', sa.String(length=1), nullable=True))
        batch.add_column(
            sa.Column('contingency_since', sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column('contingency_reason', sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.drop_column('contingency_reason')
        batch.drop_column('contingency_since')
        batch.drop_column('contingency')
        batch.drop_column('in_doubt')
    op.drop_table('sefaz_outages')
