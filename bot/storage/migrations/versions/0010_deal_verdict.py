"""deal verdict: seed 000's verdict on a deal, kept to compare with its outcome

One row per deal that got seed 000's three questions answered: ``go``, ``stop``, ``think``
(some yes, some no) or ``find_out`` (a "not sure yet"). The deal is named only by a keyed
hash (``deal_ref``), and no column names the rep or a time, so the database alone cannot tell
who gave a verdict, or when. The outcome is read from the deal's later updates.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "dealverdict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("deal_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("verdict", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "deal_ref", name="uq_dealverdict_deal"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("dealverdict")
