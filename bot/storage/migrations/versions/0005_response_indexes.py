"""response indexes: a covering index for the weekly digest, one for a person's answers

The digest's queries read a week's answers by ``team_id, period_start`` and group them by
``moment``, ``dimension``, ``pseudonym`` and ``prompt_id`` over ``score``: with all of them in
``ix_response_team_period`` they read only the index (no row lookups, and the per-person GROUP
BY follows the index order). App Home, ``/trust me`` and the export read one person's answers
by ``pseudonym``, which was a scan of the whole table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = ["team_id", "period_start", "moment", "dimension", "pseudonym", "prompt_id", "score"]


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_response_team_period", table_name="response")
    op.create_index("ix_response_team_period", "response", COVERING, unique=False)
    op.create_index("ix_response_pseudonym", "response", ["pseudonym"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_response_pseudonym", table_name="response")
    op.drop_index("ix_response_team_period", table_name="response")
    op.create_index(
        "ix_response_team_period",
        "response",
        ["team_id", "period_start", "dimension"],
        unique=False,
    )
