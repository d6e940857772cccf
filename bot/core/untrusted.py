"""Text from outside: what people type (notes, team names, a command's words) and what a CRM
sends (deal names, stages, e-mails). Plain Python; what it takes to show such text safely in
Slack is the Slack layer's (:func:`bot.slack.kit.blocks.inert`), built on what is here:

- which characters are invisible controls (:func:`visible` removes them): the bidi overrides
  and isolates U+202A–U+202E and U+2066–U+2069, which reorder the text after them on screen
  (Trojan Source, CVE-2021-42574), and every other control or format character that shows
  nothing: NUL and C0/C1 controls, zero-width spaces, the word joiner, soft hyphens, Unicode
  tags (hidden ASCII), Hangul fillers. Kept: newline and tab, and the zero-width (non-)joiner
  that emoji sequences and several scripts need;
- what Slack could read as a link (:func:`looks_like_link`, broken by :func:`defang`): a
  scheme's ``://`` and a dot between a name and a top-level domain (``example.com``).

The domain writes Slack's markup for its own words (``*bold*``, ``<@U…>``) and cannot tell
how to render someone else's text, so it :func:`mark`\\ s it; the Slack layer renders each
marked span inert (:func:`spans`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

KEPT = frozenset("\n\t\u200c\u200d")
"""Controls and format characters that stay: line breaks, tabs, ZWNJ and ZWJ."""
FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
"""Hangul fillers: letters, by category, that render as nothing."""
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""The embeddings, overrides and isolates; all of them are ``Cf``, so :func:`visible` drops them."""

DOT = "[.\u3002\uff0e\uff61]"
"""A full stop, and the ideographic and full-width ones that hostnames accept (IDNA)."""
HOST_DOT = re.compile(rf"(?<=[^\W_]){DOT}(?=[^\W\d_]{{2}})|(?<=\b[wW]{{3}}){DOT}")
"""A dot between a name and two letters (``example.com``, ``mail.example.org``, ``a@b.io``;
not ``3.5``, ``v1.2``, ``e.g.`` or ``U.S.``), and the one after ``www``."""
SCHEME = "://"
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029]")
_FILLER = re.compile("[" + "".join(sorted(FILLERS)) + "]")


def invisible(char: str) -> bool:
    """Whether ``char`` is a control or format character that shows nothing (not in KEPT)."""
    if char in KEPT:
        return False
    return char in FILLERS or unicodedata.category(char) in INVISIBLE_CATEGORIES


def visible(text: str) -> str:
    """``text`` without its invisible controls; CR, CRLF and the Unicode line and paragraph
    separators become newlines."""
    if text.isprintable() and _FILLER.search(text) is None:  # the common case: nothing to do
        return text
    text = _NEWLINES.sub("\n", text)
    return "".join(c for c in text if not invisible(c))


def looks_like_link(text: str) -> bool:
    """Whether Slack (or a mail client, or a browser) could read part of ``text`` as a link."""
    return SCHEME in text or HOST_DOT.search(text) is not None


def defang(text: str) -> str:
    """``text`` with every link broken the usual way, readable but never followed:
    ``https[:]//example[.]com``."""
    if not looks_like_link(text):
        return text
    return HOST_DOT.sub("[.]", text.replace(SCHEME, "[:]//"))


OPEN, CLOSE = "\ue000", "\ue001"
"""Private-use characters around outside text in the domain's messages."""


def mark(value: object) -> str:
    """``value`` as outside text within a message the domain writes: on one line, between
    :data:`OPEN` and :data:`CLOSE`, for the Slack layer to render inert."""
    text = str(value).replace(OPEN, "").replace(CLOSE, "")
    return OPEN + " ".join(text.splitlines()) + CLOSE


def spans(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` in pieces, each with whether it was marked. A mark left open (a message cut
    short) runs to the end; a stray close is dropped."""
    first, *rest = text.split(OPEN)
    yield first.replace(CLOSE, ""), False
    for part in rest:
        inside, closed, after = part.partition(CLOSE)
        yield inside, True
        if closed:
            yield after.replace(CLOSE, ""), False


def unmarked(text: str) -> str:
    """``text`` with its marks taken out (for a log line or a plain-text answer)."""
    return text.replace(OPEN, "").replace(CLOSE, "")
