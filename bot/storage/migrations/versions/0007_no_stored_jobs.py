"""the scheduler's jobs are no longer stored: drop APScheduler's job table

Jobs now come from code (``bot/app/jobs.py``, an in-memory job store): a stored job was a
pickle, so write access to the database could plant code in the process that holds the
pseudonym key. On PostgreSQL the table lived in the app's database; on SQLite it was a
second file beside it (``trustbot.jobs.db``), which can simply be deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS apscheduler_jobs")


def downgrade() -> None:
    pass  # APScheduler created its own table when it started; nothing to restore
