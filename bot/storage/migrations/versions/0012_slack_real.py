"""what behaving on real Slack needs stored: a workspace's Grid org, where an outbox row's
doubt began, a digest's claim time and the Slack error that stopped it

- ``workspace.enterprise_id``: the Enterprise Grid org a workspace's requests carry, so that
  background work finds an org-wide install's token for it;
- ``delivery.unsure_since``: the claim of the earliest attempt that may have posted unseen,
  so a history lookup reads only the messages since then;
- ``digest.claimed_at``: when its post began (the same, for the digest's channel);
- ``digest.failed_error``: ``is_archived``, ``not_in_channel`` or ``channel_not_found``: the
  week is not tried again by the schedule, and ``/trust status`` says why.

Slack tokens stored in clear by earlier versions are sealed by ``trustbot migrate`` after
the schema is up to date (``bot.storage.migrate.upgrade``, with ``TRUSTBOT_TOKEN_KEY``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("enterprise_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsure_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("failed_error", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("failed_error")
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("unsure_since")
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("enterprise_id")
