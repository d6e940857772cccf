"""deal state: the last values a CRM sent for each deal

Salesforce's Outbound Messages carry a deal's current values only, never the previous ones,
so a change is found by comparing with what was stored last time. ``seen`` keeps the latest
notification ids of the deal (delivery is at least once, sometimes out of order). No column
names the deal's owner.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "dealstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("deal_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("close_date", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("amount", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("discount", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("is_closed", sa.Boolean(), nullable=True),
        sa.Column("is_won", sa.Boolean(), nullable=True),
        sa.Column("deal_type", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "source", "deal_id", name="uq_dealstate_deal"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("dealstate")
