"""deal events are unique per workspace: (workspace_id, source, event_id)

Two workspaces whose CRMs (or Slack metadata) happen to use the same ``event_id`` are two
events, not a repeat: the old key ``(source, event_id)`` made the second one a "duplicate"
and dropped it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW = "uq_dealevent_event"
NEW_COLUMNS = ["workspace_id", "source", "event_id"]
OLD_COLUMNS = ["source", "event_id"]
# 0001's key has no name of its own: PostgreSQL calls it this, and on SQLite the table is
# reflected with NAMING so that the key can be named
OLD_POSTGRESQL = "dealevent_source_event_id_key"
OLD_SQLITE = "uq_dealevent_source"
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    if _sqlite():
        with op.batch_alter_table("dealevent", naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint(OLD_SQLITE, type_="unique")
            batch_op.create_unique_constraint(NEW, NEW_COLUMNS)
    else:
        op.drop_constraint(OLD_POSTGRESQL, "dealevent", type_="unique")
        op.create_unique_constraint(NEW, "dealevent", NEW_COLUMNS)


def downgrade() -> None:
    """Downgrade schema."""
    if _sqlite():
        with op.batch_alter_table("dealevent") as batch_op:
            batch_op.drop_constraint(NEW, type_="unique")
            batch_op.create_unique_constraint(OLD_SQLITE, OLD_COLUMNS)
    else:
        op.drop_constraint(NEW, "dealevent", type_="unique")
        op.create_unique_constraint(OLD_POSTGRESQL, "dealevent", OLD_COLUMNS)
