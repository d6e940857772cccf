"""A digest's period: one ISO week (``period_start`` is its Monday), so windows never overlap;
when a week is over and when its digest is due, team-local and DST-correct."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.core.checkins import local_slot, week_start, zone
from bot.storage.models import Team

WEEK = timedelta(days=7)
TREND_PERIODS = 8


class DigestError(ValueError):
    """A digest that cannot be made; the message is written for the admin."""


def check_period(period_start: date) -> None:
    if period_start.weekday() != 0:
        raise DigestError(f"{period_start.isoformat()} is not a Monday: a digest covers one week.")


def period_end_instant(team: Team, period_start: date) -> datetime:
    """Midnight at the end of the week in the team's time zone."""
    return datetime.combine(period_start + WEEK, time(0), zone(team.timezone))


def latest_period(team: Team, now: datetime) -> date:
    """The Monday of the last complete week in the team's time zone."""
    today = now.astimezone(zone(team.timezone)).date()
    return week_start(today) - WEEK


def digest_slot(team: Team, period_start: date) -> datetime:
    """When the week's digest is due (UTC): the team's digest weekday and time, team-local,
    in the week after it (default Monday 09:00). DST-correct like the check-in slots."""
    return local_slot(
        period_start + WEEK, team.digest_weekday, team.digest_time, zone(team.timezone)
    )


def trend_periods(period_start: date) -> list[date]:
    return [period_start - WEEK * (TREND_PERIODS - 1 - i) for i in range(TREND_PERIODS)]
