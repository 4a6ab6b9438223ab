"""Reconciliation lines without a B-tree key: a BRIN index over (kind, day, seq) on
PostgreSQL (a plain index on SQLite). Loading a million-line night into the key's
B-tree took as long as the rest of the night together (docs/BENCHMARKS.md, "Reconcile");
the writer keeps one line per (kind, day, seq) instead (db/reconciliation.py), and each
run row remembers the highest line number stored for its night (`stored_through`).

Revision ID: 0016
Revises: 0015

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_reconciliation_lines_night"


def upgrade() -> None:
    with op.batch_alter_table("reconciliation_runs") as batch:
        batch.add_column(
            sa.Column("stored_through", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.execute(
        "UPDATE reconciliation_runs SET stored_through = coalesce((SELECT max(l.seq) "
        "FROM reconciliation_lines l WHERE l.kind = reconciliation_runs.kind "
        "AND l.day = reconciliation_runs.day), 0)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("pk_reconciliation_lines", "reconciliation_lines", type_="primary")
        op.create_index(
            INDEX, "reconciliation_lines", ["kind", "day", "seq"],
            postgresql_using="brin", postgresql_with={"autosummarize": "on"},
        )  # fmt: skip
        return
    with op.batch_alter_table("reconciliation_lines", recreate="always") as batch:
        batch.drop_constraint("pk_reconciliation_lines", type_="primary")
        batch.create_index(INDEX, ["kind", "day", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_runs") as batch:
        batch.drop_column("stored_through")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, "reconciliation_lines")
        op.create_primary_key("pk_reconciliation_lines", "reconciliation_lines",
                              ["kind", "day", "seq"])  # fmt: skip
        return
    with op.batch_alter_table("reconciliation_lines", recreate="always") as batch:
        batch.drop_index(INDEX)
        batch.create_primary_key("pk_reconciliation_lines", ["kind", "day", "seq"])
