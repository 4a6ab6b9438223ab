"""Initial schema: catalogue and stock ledger, inbox, order read model, invoices,
shipments, warehouse tasks, audit log and API keys.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 23:47:56.723196

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'ops', 'warehouse', 'finance', 'viewer')", name=op.f('ck_api_keys_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_index(op.f('ix_api_keys_name'), 'api_keys', ['name'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('key', name=op.f('uq_audit_log_key'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_order_id'), 'audit_log', ['order_id'], unique=False)

    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('workflow_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('store', 'marketplace', 'payments', 'carrier')", name=op.f('ck_inbox_source')),
    sa.CheckConstraint("status IN ('pending', 'started', 'ignored', 'failed')", name=op.f('ck_inbox_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('source', 'event_id', name=op.f('uq_inbox_source_event_id'))
    )
    op.create_index(op.f('ix_inbox_status_received_at'), 'inbox', ['status', 'received_at'], unique=False)
    op.create_index(op.f('ix_inbox_workflow_id'), 'inbox', ['workflow_id'], unique=False)

    op.create_table('invoice_numbers',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('series', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', 'series', name=op.f('pk_invoice_numbers')),
    sa.UniqueConstraint('series', 'number', name=op.f('uq_invoice_numbers_series_number'))
    )
    op.create_table('invoice_series',
    sa.Column('series', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('series', name=op.f('pk_invoice_series'))
    )
    op.create_table('invoices',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('access_key', sa.String(length=44), nullable=True),
    sa.Column('protocol', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('authorised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('xml', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('access_key', name=op.f('uq_invoices_access_key')),
    sa.UniqueConstraint('series', 'number', name=op.f('uq_invoices_series_number'))
    )
    op.create_index(op.f('ix_invoices_status'), 'invoices', ['status'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('customer_name', sa.String(length=120), nullable=True),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('needs_attention', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('stuck_step', sa.String(length=60), nullable=True),
    sa.Column('failure', sa.JSON(), nullable=True),
    sa.Column('invoice_key', sa.String(length=44), nullable=True),
    sa.Column('tracking_code', sa.String(length=60), nullable=True),
    sa.Column('carrier', sa.String(length=60), nullable=True),
    sa.Column('phase_times', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_orders_channel_external_id'))
    )
    op.create_index(op.f('ix_orders_created_at'), 'orders', ['created_at'], unique=False)
    op.create_index(op.f('ix_orders_needs_attention'), 'orders', ['needs_attention'], unique=False)
    op.create_index(op.f('ix_orders_status'), 'orders', ['status'], unique=False)

    op.create_table('products',
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ncm', sa.String(length=8), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('weight_g', sa.Integer(), nullable=False),
    sa.Column('height_cm', sa.Integer(), nullable=False),
    sa.Column('width_cm', sa.Integer(), nullable=False),
    sa.Column('length_cm', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', name=op.f('pk_products'))
    )
    op.create_table('shipments',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('shipment_id', sa.String(length=100), nullable=False),
    sa.Column('tracking_code', sa.String(length=60), nullable=False),
    sa.Column('carrier', sa.String(length=60), nullable=False),
    sa.Column('service', sa.String(length=60), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('label_url', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_shipments'))
    )
    op.create_index(op.f('ix_shipments_status'), 'shipments', ['status'], unique=False)

    op.create_table('warehouse_tasks',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'picked', 'packed', 'checked', 'cancelled')", name=op.f('ck_warehouse_tasks_status')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_warehouse_tasks'))
    )
    op.create_index(op.f('ix_warehouse_tasks_status_created_at'), 'warehouse_tasks', ['status', 'created_at'], unique=False)

    op.create_table('reservations',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('reserved', 'released', 'shipped')", name=op.f('ck_reservations_status')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_reservations_quantity_positive')),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], name=op.f('fk_reservations_sku_products')),
    sa.PrimaryKeyConstraint('order_id', 'sku', name=op.f('pk_reservations'))
    )
    op.create_table('stock',
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('warehouse', sa.String(length=20), server_default=sa.text("'main'"), nullable=False),
    sa.Column('on_hand', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('reserved', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_stock_on_hand_not_negative')),
    sa.CheckConstraint('reserved <= on_hand', name=op.f('ck_stock_reserved_within_on_hand')),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_stock_reserved_not_negative')),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], name=op.f('fk_stock_sku_products')),
    sa.PrimaryKeyConstraint('sku', name=op.f('pk_stock'))
    )
    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('delta_on_hand', sa.Integer(), nullable=False),
    sa.Column('delta_reserved', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason IN ('receipt', 'adjustment', 'reserve', 'release', 'ship')", name=op.f('ck_stock_movements_reason')),
    sa.ForeignKeyConstraint(['sku'], ['products.sku'], name=op.f('fk_stock_movements_sku_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements')),
    sa.UniqueConstraint('key', name=op.f('uq_stock_movements_key'))
    )
    op.create_index(op.f('ix_stock_movements_order_id'), 'stock_movements', ['order_id'], unique=False)
    op.create_index(op.f('ix_stock_movements_sku'), 'stock_movements', ['sku'], unique=False)

    op.create_table('warehouse_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('operator', sa.String(length=60), nullable=False),
    sa.Column('shift', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("step IN ('pick', 'pack', 'check')", name=op.f('ck_warehouse_events_step')),
    sa.ForeignKeyConstraint(['order_id'], ['warehouse_tasks.order_id'], name=op.f('fk_warehouse_events_order_id_warehouse_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warehouse_events')),
    sa.UniqueConstraint('order_id', 'step', name=op.f('uq_warehouse_events_order_id_step'))
    )
    op.create_index(op.f('ix_warehouse_events_at'), 'warehouse_events', ['at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_warehouse_events_at'), table_name='warehouse_events')

    op.drop_table('warehouse_events')
    op.drop_index(op.f('ix_stock_movements_sku'), table_name='stock_movements')
    op.drop_index(op.f('ix_stock_movements_order_id'), table_name='stock_movements')

    op.drop_table('stock_movements')
    op.drop_table('stock')
    op.drop_table('reservations')
    op.drop_index(op.f('ix_warehouse_tasks_status_created_at'), table_name='warehouse_tasks')

    op.drop_table('warehouse_tasks')
    op.drop_index(op.f('ix_shipments_status'), table_name='shipments')

    op.drop_table('shipments')
    op.drop_table('products')
    op.drop_index(op.f('ix_orders_status'), table_name='orders')
    op.drop_index(op.f('ix_orders_needs_attention'), table_name='orders')
    op.drop_index(op.f('ix_orders_created_at'), table_name='orders')

    op.drop_table('orders')
    op.drop_index(op.f('ix_invoices_status'), table_name='invoices')

    op.drop_table('invoices')
    op.drop_table('invoice_series')
    op.drop_table('invoice_numbers')
    op.drop_index(op.f('ix_inbox_workflow_id'), table_name='inbox')
    op.drop_index(op.f('ix_inbox_status_received_at'), table_name='inbox')

    op.drop_table('inbox')
    op.drop_index(op.f('ix_audit_log_order_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')

    op.drop_table('audit_log')
    op.drop_index(op.f('ix_api_keys_name'), table_name='api_keys')

    op.drop_table('api_keys')
