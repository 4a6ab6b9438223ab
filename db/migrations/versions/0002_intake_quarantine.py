"""Intake: relay claims (claimed_by, claimed_until) and the quarantine of signed events
that did not validate (status 'quarantined', raw body, problem, field, deliveries,
resolution).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_STATUSES = "status IN ('pending', 'started', 'ignored', 'failed')"
NEW_STATUSES = "status IN ('pending', 'started', 'ignored', 'failed', 'quarantined')"
RESOLUTIONS = "resolution IS NULL OR resolution IN ('fixed', 'redriven', 'redelivered')"


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.drop_constraint(op.f('ck_inbox_status'), type_='check')
        batch.alter_column(
            'status', existing_type=sa.String(length=10), type_=sa.String(length=12),
            existing_nullable=False,
        )
        batch.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('raw_body', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('problem', sa.Text(), nullable=True))
        batch.add_column(sa.Column('problem_field', sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column('deliveries', sa.Integer(), server_default=sa.text('1'), nullable=False)
        )
        batch.add_column(sa.Column('resolution', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('resolved_by', sa.String(length=60), nullable=True))
        batch.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(op.f('ck_inbox_status'), NEW_STATUSES)
        batch.create_check_constraint(op.f('ck_inbox_resolution'), RESOLUTIONS)


def downgrade() -> None:
    # The old schema has no place for quarantined events: going down drops them.
    op.execute("DELETE FROM inbox WHERE status = 'quarantined'")
    with op.batch_alter_table('inbox') as batch:
        batch.drop_constraint(op.f('ck_inbox_resolution'), type_='check')
        batch.drop_constraint(op.f('ck_inbox_status'), type_='check')
        for column in (
            'resolved_at', 'resolved_by', 'resolution', 'deliveries', 'problem_field',
            'problem', 'raw_body', 'claimed_until', 'claimed_by',
        ):
            batch.drop_column(column)
        batch.alter_column(
            'status', existing_type=sa.String(length=12), type_=sa.String(length=10),
            existing_nullable=False,
        )
        batch.create_check_constraint(op.f('ck_inbox_status'), OLD_STATUSES)
