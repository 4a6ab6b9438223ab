"""The people's screens: shelf locations (bins), the parcel weighed and measured at pack,
check mismatches caught, the customer's CPF for search, and the KPIs' phase columns
(epoch seconds of the first time each phase was reached), back-filled from phase_times.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 09:00:00

"""
from datetime import datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PHASES = (
    'received', 'paid', 'invoiced', 'picked', 'packed', 'checked', 'shipped', 'delivered',
    'cancelled',
)
PARCEL = ('weight_g', 'height_cm', 'width_cm', 'length_cm')
# Each phase's (end, start) column pair: the KPIs read a range of the end from the index.
PHASE_PAIRS = (
    ('paid', 'received'), ('invoiced', 'paid'), ('picked', 'invoiced'), ('packed', 'picked'),
    ('checked', 'packed'), ('shipped', 'checked'), ('delivered', 'shipped'),
)


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(
            sa.Column('bin', sa.String(length=20), server_default=sa.text("''"), nullable=False)
        )
    with op.batch_alter_table('warehouse_events') as batch:
        for name in PARCEL:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('customer_cpf', sa.String(length=11), nullable=True))
        for phase in PHASES:
            batch.add_column(sa.Column(f't_{phase}', sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column('check_mismatches', sa.Integer(), server_default=sa.text('0'),
                      nullable=False)
        )
    op.create_index(op.f('ix_orders_customer_cpf'), 'orders', ['customer_cpf'], unique=False)
    for end, start in PHASE_PAIRS:
        op.create_index(f'ix_orders_t_{end}_t_{start}', 'orders', [f't_{end}', f't_{start}'])
    op.create_index('ix_orders_kpi_delivered', 'orders',
                    ['t_delivered', 't_paid', 't_received', 't_cancelled', 'check_mismatches'])
    op.create_index('ix_orders_kpi_cancelled', 'orders',
                    ['t_cancelled', 't_paid', 't_delivered', 'check_mismatches'])
    op.create_index('ix_warehouse_events_kpi', 'warehouse_events',
                    ['at', 'operator', 'shift', 'step'])
    op.create_table(
        'warehouse_mistakes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.String(length=200), nullable=False),
        sa.Column('operator', sa.String(length=60), nullable=False),
        sa.Column('shift', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('differences', sa.JSON(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ['order_id'], ['warehouse_tasks.order_id'],
            name=op.f('fk_warehouse_mistakes_order_id_warehouse_tasks'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_warehouse_mistakes')),
        sa.UniqueConstraint('key', name=op.f('uq_warehouse_mistakes_key')),
    )
    op.create_index(op.f('ix_warehouse_mistakes_at'), 'warehouse_mistakes', ['at'], unique=False)
    op.create_index(
        op.f('ix_warehouse_mistakes_order_id'), 'warehouse_mistakes', ['order_id'], unique=False
    )
    _backfill()


def _backfill() -> None:
    """Existing orders get their phase columns from phase_times (ISO strings, UTC)."""
    conn = op.get_bind()
    orders = sa.table(
        'orders', sa.column('order_id', sa.String), sa.column('phase_times', sa.JSON),
        *(sa.column(f't_{p}', sa.BigInteger) for p in PHASES),
    )
    rows = conn.execute(sa.select(orders.c.order_id, orders.c.phase_times)).all()
    for order_id, times in rows:
        values = {
            f't_{p}': int(datetime.fromisoformat(times[p]).timestamp())
            for p in PHASES if times and p in times
        }
        if values:
            conn.execute(orders.update().where(orders.c.order_id == order_id).values(**values))


def downgrade() -> None:
    op.drop_index(op.f('ix_warehouse_mistakes_order_id'), table_name='warehouse_mistakes')
    op.drop_index(op.f('ix_warehouse_mistakes_at'), table_name='warehouse_mistakes')
    op.drop_table('warehouse_mistakes')
    op.drop_index('ix_warehouse_events_kpi', table_name='warehouse_events')
    op.drop_index('ix_orders_kpi_cancelled', table_name='orders')
    op.drop_index('ix_orders_kpi_delivered', table_name='orders')
    for end, start in PHASE_PAIRS:
        op.drop_index(f'ix_orders_t_{end}_t_{start}', table_name='orders')
    op.drop_index(op.f('ix_orders_customer_cpf'), table_name='orders')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('check_mismatches')
        for phase in PHASES:
            batch.drop_column(f't_{phase}')
        batch.drop_column('customer_cpf')
    with op.batch_alter_table('warehouse_events') as batch:
        for name in PARCEL:
            batch.drop_column(name)
    with op.batch_alter_table('products') as batch:
        batch.drop_column('bin')
