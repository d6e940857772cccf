"""a deal's updates are indexed in the order they happened

Whether a newer update of the same deal is stored (a nudge it makes stale is cancelled) is
asked for every planned batch of deal updates. With the deal's updates in the index in time
order the database answers it by one seek per update; before, it read the whole history of
each deal (measured with bench/webhook: the planner's time grew with every stored update).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME, TABLE = "ix_dealevent_deal", "dealevent"
BY_DEAL = ["workspace_id", "deal_id"]


def upgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, [*BY_DEAL, "occurred_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    op.create_index(NAME, TABLE, BY_DEAL)
