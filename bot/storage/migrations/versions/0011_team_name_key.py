"""team names are looked up by a Unicode key: NFKC, casefolded, unique per workspace

Names were compared with SQL's ``lower()``, which on SQLite folds ASCII only: ``Équipe``
was created, then not found as ``équipe`` (no such team), then refused by the unique index
when created again. ``name_key`` is computed in Python (``bot.storage.models.name_key``) for
every row here and on every insert and update by the app. Two teams of a workspace that
the old comparison told apart but the key does not (``Équipe`` and ``ÉQUIPE``, created on
SQLite) both stay: the later one's key gets ``#<id>`` appended, and each is still found by
its exact name.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "uq_team_name_key"


def name_key(name: str) -> str:
    """As ``bot.storage.models.name_key`` at this revision (a migration keeps its own copy)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)
        )
    team = sa.table(
        "team",
        sa.column("id", sa.Integer),
        sa.column("workspace_id", sa.String),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
    )
    bind = op.get_bind()
    taken: set[tuple[str, str]] = set()
    rows = bind.execute(sa.select(team.c.id, team.c.workspace_id, team.c.name).order_by(team.c.id))
    for row_id, workspace_id, name in rows.all():
        key = name_key(name)
        if (workspace_id, key) in taken:
            key = f"{key}#{row_id}"
        taken.add((workspace_id, key))
        bind.execute(sa.update(team).where(team.c.id == row_id).values(name_key=key))
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.alter_column(
            "name_key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False
        )
        batch_op.create_unique_constraint(KEY, ["workspace_id", "name_key"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_constraint(KEY, type_="unique")
        batch_op.drop_column("name_key")
