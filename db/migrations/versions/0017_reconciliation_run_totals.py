"""What each class of a finished night adds up to, kept on its run row once summed
(`totals`, empty until then and again whenever the night is run anew): the month close
reads a month of nights from their run rows instead of summing millions of lines again.

Revision ID: 0017
Revises: 0016

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reconciliation_runs") as batch:
        batch.add_column(sa.Column("totals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_runs") as batch:
        batch.drop_column("totals")
