"""a workspace's leadership roll-up is frozen when first shown; managers reply to notes

``rollupfigures`` holds the figures of ``/trust rollup`` for one week or one block of weeks
of a workspace, written once (first writer wins) and shown verbatim afterwards, as a digest's
figures are: a late or deleted answer can never be isolated by comparing two views.
``notereply`` holds a manager's anonymous reply to a shared note, against the note (never its
writer, never the manager).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "rollupfigures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "period_start", "weeks"),
    )
    op.create_table(
        "notereply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=3000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["note_id"], ["note.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notereply_note_id", "notereply", ["note_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_notereply_note_id", table_name="notereply")
    op.drop_table("notereply")
    op.drop_table("rollupfigures")
