"""stage mapping per CRM, a team's delivery channel, and an index on a deal's history

``stagemapping`` holds what an admin said a CRM stage means (``/trust stages map``), for the
stage names the built-in rules cannot place. ``ix_dealevent_deal`` serves the lookups of a
deal's earlier updates: a newer update supersedes a waiting nudge, seed 000's questions are
asked once per deal, a repeated slip is counted. ``team.delivery_channel_id`` is where a rep
may flag a commitment or hand over a won deal (``/trust delivery``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "stagemapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("pipeline", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("stage_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "pipeline", "stage_key", name="uq_stagemapping_stage"),
    )
    with op.batch_alter_table("dealevent", schema=None) as batch_op:
        batch_op.create_index("ix_dealevent_deal", ["workspace_id", "deal_id"], unique=False)
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "delivery_channel_id",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=True,
            )
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("delivery_channel_id")
    with op.batch_alter_table("dealevent", schema=None) as batch_op:
        batch_op.drop_index("ix_dealevent_deal")
    op.drop_table("stagemapping")
