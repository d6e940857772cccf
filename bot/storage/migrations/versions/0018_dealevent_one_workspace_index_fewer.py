"""deal updates lose their workspace-only index, which three others already cover

Every index is written at every stored deal update, on the webhook's answer path. The
unique key (workspace, source, event id), the received-at index and the deal-history index
all begin with the workspace, so each already serves what the workspace-only index served
(the workspace's updates, and the foreign key's checks). Measured by storing 40,000 updates
in groups of nine, as bench/webhook's requests arrive: 35.2 µs per update stored with it,
31.8 µs without.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME, TABLE = "ix_dealevent_workspace_id", "dealevent"


def upgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)


def downgrade() -> None:
    op.create_index(NAME, TABLE, ["workspace_id"], unique=False)
