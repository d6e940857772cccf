"""each rep's recent deals, sealed, for the check-in's deal question

Since deal updates forget their rep once planned (anonymity at rest), the check-in could no
longer find the deal a rep touched, and its deal question named none. The planner now keeps
one sealed record per rep (``recentdeals``), and a check-in DM keeps the deal it named
(``delivery.anchor``, sealed) until it closes. See bot/core/recent_deals.py.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recentdeals",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    op.add_column(
        "delivery",
        sa.Column("anchor", sa.String(length=1000), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_column("anchor")
    op.drop_table("recentdeals")
