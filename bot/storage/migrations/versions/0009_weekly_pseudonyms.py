"""answers under weekly pseudonyms, with nothing finer than their week

Data minimisation for anonymity (issue #15): a dump of the database without the pseudonym
key re-identified reps by joining tables. So:

- ``response``, ``note``: no ``team_id`` (a person's answers count for each team they were a
  rep of that week, resolved in the app with the key) and no click time (``answered_at``,
  ``written_at``); check-in answers' ``context`` is ``checkin:<week>``, not the round (which
  names the team); ``managerestimate`` loses its ``answered_at``;
- every answer, note and estimate is re-keyed to the person's pseudonym *of that week*, so
  weeks cannot be linked to one another without the key. This needs the key: ``trustbot
  migrate`` passes ``TRUSTBOT_PSEUDONYM_KEY`` (a database with answers and no key is refused
  with a clear message, and nothing is changed). An answer whose person is no longer known to
  the workspace (no membership, person, delivery or admin row) cannot be re-keyed and is
  deleted: nothing could show it to anyone any more;
- ``checkinround`` keeps the team it was planned for (``reps``, ``managers``);
- ``delivery.user_id`` may be empty: a closed DM forgets its person, channel, message, deal
  event and instants (done here for the DMs already closed);
- deal events already planned forget the rep (``rep_user_id``, ``rep_email``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERIOD_INDEX = ["period_start", "pseudonym", "moment", "dimension", "prompt_id", "score"]
OLD_PERIOD_INDEX = [
    "team_id",
    "period_start",
    "moment",
    "dimension",
    "pseudonym",
    "prompt_id",
    "score",
]
PLANNED = ("nudged", "deferred", "skipped")


def _hmac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _users(conn: sa.Connection) -> dict[str, set[str]]:
    """Every Slack user id each workspace knows."""
    known: dict[str, set[str]] = {}
    for table in ("member", "person", "delivery", "admin"):
        rows = conn.execute(sa.text(f"SELECT DISTINCT workspace_id, user_id FROM {table}"))  # noqa: S608
        for workspace, user in rows:
            if user:
                known.setdefault(workspace, set()).add(user)
    return known


def _rekey(conn: sa.Connection, key: str) -> None:
    known = _users(conn)
    old = {
        (ws, _hmac(key, f"answers:{ws}:{user}")): user
        for ws, users in known.items()
        for user in users
    }

    def weekly(ws: str, user: str, period: date) -> str:
        return _hmac(key, f"answers:{ws}:{user}:{period.isoformat()}")

    def new_context(context_: str, period: date) -> str:
        return f"checkin:{period.isoformat()}" if context_.startswith("round:") else context_

    seen: set[tuple[str, str, str]] = set()
    rows = conn.execute(
        sa.text(
            "SELECT id, workspace_id, period_start, context, pseudonym, prompt_id FROM response"
            " ORDER BY id DESC"  # the latest answer wins when two rounds of a week collide
        )
    ).all()
    for row_id, ws, period, context_, who, prompt in rows:
        user = old.get((ws, who))
        day = _day(period)
        target = None if user is None else (new_context(context_, day), weekly(ws, user, day))
        if target is None or (*target, prompt) in seen:
            conn.execute(sa.text("DELETE FROM response WHERE id = :i"), {"i": row_id})
            continue
        seen.add((*target, prompt))
        conn.execute(
            sa.text("UPDATE response SET context = :c, pseudonym = :p WHERE id = :i"),
            {"c": target[0], "p": target[1], "i": row_id},
        )
    noted: set[tuple[str, str]] = set()
    for row_id, ws, period, context_, who in conn.execute(
        sa.text(
            "SELECT id, workspace_id, period_start, context, pseudonym FROM note ORDER BY id DESC"
        )
    ).all():
        user = old.get((ws, who))
        day = _day(period)
        target = None if user is None else (new_context(context_, day), weekly(ws, user, day))
        if target is None or target in noted:
            conn.execute(sa.text("DELETE FROM note WHERE id = :i"), {"i": row_id})
            continue
        noted.add(target)
        conn.execute(
            sa.text("UPDATE note SET context = :c, pseudonym = :p WHERE id = :i"),
            {"c": target[0], "p": target[1], "i": row_id},
        )
    for row_id, ws, period, who in conn.execute(
        sa.text("SELECT id, workspace_id, period_start, pseudonym FROM managerestimate")
    ).all():
        user = old.get((ws, who))
        if user is None:
            conn.execute(sa.text("DELETE FROM managerestimate WHERE id = :i"), {"i": row_id})
        else:
            conn.execute(
                sa.text("UPDATE managerestimate SET pseudonym = :p WHERE id = :i"),
                {"p": weekly(ws, user, _day(period)), "i": row_id},
            )


def _snapshot_rounds(conn: sa.Connection) -> None:
    members: dict[int, dict[str, list[str]]] = {}
    for team_id, user, role in conn.execute(sa.text("SELECT team_id, user_id, role FROM member")):
        members.setdefault(int(team_id), {"rep": [], "manager": []}).setdefault(role, []).append(
            user
        )
    for round_id, team_id in conn.execute(sa.text("SELECT id, team_id FROM checkinround")).all():
        team = members.get(int(team_id), {})
        conn.execute(
            sa.text("UPDATE checkinround SET reps = :r, managers = :m WHERE id = :i"),
            {
                "r": json.dumps(sorted(team.get("rep", []))),
                "m": json.dumps(sorted(team.get("manager", []))),
                "i": round_id,
            },
        )


def upgrade() -> None:
    conn = op.get_bind()
    answers = sum(
        int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0)  # noqa: S608
        for t in ("response", "note", "managerestimate")
    )
    key = context.config.attributes.get("pseudonym_key")
    if answers and not key:
        raise RuntimeError(
            "TRUSTBOT_PSEUDONYM_KEY is not set: the stored answers are re-keyed to weekly "
            "pseudonyms by this upgrade, which needs the key. Set it and run trustbot migrate"
        )
    # a plain ADD COLUMN (its default stays): rebuilding checkinround on SQLite would drop a
    # table that delivery's foreign key points at
    op.add_column("checkinround", sa.Column("reps", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column(
        "checkinround", sa.Column("managers", sa.JSON(), nullable=False, server_default="[]")
    )
    if answers:
        _rekey(conn, str(key))
    _snapshot_rounds(conn)
    op.drop_index("ix_response_team_period", table_name="response")
    with op.batch_alter_table("response") as batch:
        batch.drop_column("team_id")
        batch.drop_column("answered_at")
    op.create_index("ix_response_period", "response", PERIOD_INDEX, unique=False)
    op.drop_index("ix_note_team_period", table_name="note")
    with op.batch_alter_table("note") as batch:
        batch.drop_column("team_id")
        batch.drop_column("written_at")
    op.create_index("ix_note_period", "note", ["period_start", "pseudonym"], unique=False)
    with op.batch_alter_table("managerestimate") as batch:
        batch.drop_column("answered_at")
    with op.batch_alter_table("delivery") as batch:
        batch.alter_column("user_id", existing_type=sa.String(length=32), nullable=True)
    conn.execute(
        sa.text(
            "UPDATE delivery SET user_id = NULL, channel_id = NULL, message_ts = NULL,"
            " deal_event_id = NULL, planned_at = NULL, sent_at = NULL, remind_at = NULL,"
            " reminded_at = NULL, expires_at = NULL, claimed_by = NULL, claimed_at = NULL,"
            " last_error = NULL WHERE status = 'expired'"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE dealevent SET rep_user_id = NULL, rep_email = NULL WHERE status IN"
            " ('nudged', 'deferred', 'skipped')"
        )
    )


def downgrade() -> None:
    raise RuntimeError("answers re-keyed to weekly pseudonyms cannot be put back")
