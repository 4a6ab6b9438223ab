"""Finance: receivables per paid order, anticipations covering them, and the nightly
reconciliation runs with their classified lines.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:39:42

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('anticipations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('gross', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('discount_rate', sa.Numeric(precision=8, scale=6), nullable=False),
    sa.Column('fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('net', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anticipations')),
    sa.UniqueConstraint('reference', name=op.f('uq_anticipations_reference'))
    )
    with op.batch_alter_table('anticipations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anticipations_taken_on'), ['taken_on'], unique=False)

    op.create_table('reconciliation_lines',
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('class', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('line_gross', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('line_fees', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('expected_gross', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('expected_fees', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('expected_net', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.CheckConstraint("class IN ('matched', 'fee_divergence', 'amount_divergence', 'missing_payout', 'unexpected_payout', 'chargeback', 'anticipated', 'unmatched_line', 'unmatched_expected')", name=op.f('ck_reconciliation_lines_class')),
    sa.PrimaryKeyConstraint('kind', 'day', 'seq', name=op.f('pk_reconciliation_lines'))
    )
    op.create_table('reconciliation_runs',
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=200), server_default=sa.text("''"), nullable=False),
    sa.Column('lines', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('classified', sa.JSON(), nullable=False),
    sa.Column('alerts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('marketplace', 'bank')", name=op.f('ck_reconciliation_runs_kind')),
    sa.PrimaryKeyConstraint('kind', 'day', name=op.f('pk_reconciliation_runs'))
    )
    op.create_table('receivables',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('gross', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('commission', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('fixed_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('freight', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('net', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('refunded', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected_release', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('anticipation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'refunded')", name=op.f('ck_receivables_status')),
    sa.ForeignKeyConstraint(['anticipation_id'], ['anticipations.id'], name=op.f('fk_receivables_anticipation_id_anticipations')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_receivables')),
    sa.UniqueConstraint('key', name=op.f('uq_receivables_key'))
    )
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receivables_anticipation_id'), ['anticipation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receivables_expected_release'), ['expected_release'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receivables_expected_release'))
        batch_op.drop_index(batch_op.f('ix_receivables_anticipation_id'))

    op.drop_table('receivables')
    op.drop_table('reconciliation_runs')
    op.drop_table('reconciliation_lines')
    with op.batch_alter_table('anticipations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anticipations_taken_on'))

    op.drop_table('anticipations')
