"""Fiscal lifecycle: the voiding of unused NF-e numbers at SEFAZ, the return NF-e that
undoes a sale past its cancellation window, and the correction letters (CC-e).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.add_column(sa.Column('sefaz_voided_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('voiding_protocol', sa.String(length=20), nullable=True))
    op.create_table(
        'return_invoices',
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('refers_to', sa.String(length=44), nullable=False),
        sa.Column('series', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('access_key', sa.String(length=44), nullable=False),
        sa.Column('protocol', sa.String(length=30), nullable=False),
        sa.Column('authorised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('xml', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_return_invoices')),
        sa.UniqueConstraint('access_key', name=op.f('uq_return_invoices_access_key')),
        sa.UniqueConstraint('series', 'number', name=op.f('uq_return_invoices_series_number')),
    )
    op.create_table(
        'invoice_corrections',
        sa.Column('access_key', sa.String(length=44), nullable=False),
        sa.Column('sequence', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('protocol', sa.String(length=20), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('access_key', 'sequence', name=op.f('pk_invoice_corrections')),
    )
    op.create_index(
        op.f('ix_invoice_corrections_order_id'), 'invoice_corrections', ['order_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_invoice_corrections_order_id'), table_name='invoice_corrections')
    op.drop_table('invoice_corrections')
    op.drop_table('return_invoices')
    with op.batch_alter_table('invoice_numbers') as batch:
        batch.drop_column('voiding_protocol')
        batch.drop_column('sefaz_voided_at')
