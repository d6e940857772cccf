"""a team's digest goes to its channel, its managers by DM, or both

``team.digest_to`` is ``channel`` (what every team did so far, the default), ``dm`` or
``both`` (``/trust digest <team> to channel|dm|both``). The DMs go through the outbox, one
row per manager of the week's round (``delivery.kind = 'digest'``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_to", sa.String(length=8), nullable=False, server_default="channel")
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("digest_to")
