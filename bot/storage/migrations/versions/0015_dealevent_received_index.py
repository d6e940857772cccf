"""deal updates are found by their workspace and when they were received

The rep's own page ties the evidence a rep logged in deal nudges to its deal by recomputing
the keyed context of the updates received around those weeks; this index lets it read just
those weeks instead of every update of the workspace.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_dealevent_workspace_received"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(INDEX, "dealevent", ["workspace_id", "received_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(INDEX, table_name="dealevent")
