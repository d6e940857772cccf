"""Before a shared note reaches the managers' digest: does it name a deal or a person?

A note shared "anonymously" is quoted in the digest without its writer, but a deal name, a
mention, an e-mail address or a colleague's name can point back at the one rep who works
that deal or knows that person. The note is saved as written (it is the rep's choice); the
rep is warned, with what was found, so they can edit it or untick "share" before the digest
is frozen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core import rotation
from bot.runtime import Runtime

__all__ = ["named", "warning"]

MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>|(?<![\w@])@[A-Za-z][\w.\-]{1,40}")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
MIN_DEAL = 3  # shorter deal names ("A", "X1") would match ordinary words


def named(text: str, deals: Iterable[str]) -> list[str]:
    """What in ``text`` names a deal (of ``deals``, whole words, any case) or a person (a
    mention, an e-mail address), in the order found, each once."""
    found: list[str] = []
    lowered = text.casefold()
    for deal in deals:
        deal = deal.strip()
        if len(deal) < MIN_DEAL:
            continue
        pattern = r"(?<!\w)" + re.escape(deal.casefold()) + r"(?!\w)"
        if re.search(pattern, lowered) and f"the deal “{deal}”" not in found:
            found.append(f"the deal “{deal}”")
    for match in [*EMAIL.finditer(text), *MENTION.finditer(text)]:
        what = match.group(0)
        if not any(what in f for f in found) and EMAIL.fullmatch(what) is None:
            found.append(f"a person ({what})")
        elif EMAIL.fullmatch(what) and f"an e-mail address ({what})" not in found:
            found.append(f"an e-mail address ({what})")
    return found


def warning(found: list[str]) -> str | None:
    """The rep's warning, or ``None`` when the note names nothing."""
    if not found:
        return None
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return (
        f"Your note is shared with your manager's digest, and it names {listed}. That can "
        "point back to you. To keep it anonymous, edit the note (Edit note) and leave the "
        "name out, or untick “share anonymously”."
    )


async def check_shared_note(
    runtime: Runtime, workspace_id: str, user_id: str, round_id: int, text: str
) -> str | None:
    """The warning for a shared note of the user's check-in ``round_id``: the deals it may
    name are the one the check-in asked about and the rep's own open deal nudges'."""
    deals = [d for d in [await rotation.anchor_deal(runtime, workspace_id, user_id, round_id)] if d]
    deals += await rotation.open_nudge_deals(runtime, workspace_id, user_id)
    return warning(named(text, deals))
