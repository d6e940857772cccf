"""Hostile inputs for hypothesis (the fuzz tests and the parsers' property tests), and where
to put them in a JSON-like value."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

TRICKY_CHARACTERS = [
    "\x00",
    "\x1b",
    "\r",
    "\t",
    "\u200b",  # zero-width space
    "\u202e",  # right-to-left override
    "\ufeff",
    "\u00a0",
    "\u201c",  # curly quotes, which the /trust tokenizer straightens
    "\u2019",
    "²",  # isdigit() but not a decimal digit: int("²") fails
    "٣",  # Arabic-Indic three: a decimal digit
    "𝟘",  # mathematical zero
    "Ⅻ",  # roman numeral twelve (numeric, not a digit)
    "`",
    "'",
    '"',
    "\\",
    "|",
    "<",
    ">",
    "@",
    "#",
    ":",
    "&amp;",
    "<!channel>",
    "<@U0REP1>",
    "<#C0SALES|sales>",
    "%s",
    "{0}",
    "😀",
    "é",
]

tricky_text = st.lists(st.sampled_from(TRICKY_CHARACTERS) | st.text(max_size=6), max_size=12).map(
    "".join
)
"""Short text rich in the characters parsers trip over."""

HOSTILE_PIECES = [
    "https://evil.example/x?y=1",
    "HTTP://EVIL.EXAMPLE",
    "slack://open",
    "www.example.org",
    "evil.com",
    "mail.example.co.uk",
    "ana@example.com",
    "ｅｖｉｌ．ｃｏｍ",  # full-width, which hostnames accept
    "evil\u3002com",  # ideographic full stop
    "<https://evil.example|Click me>",
    "<mailto:a@b.io|mail>",
    "<!here>",
    "<!subteam^S123>",
    "&lt;",
    "&amp;amp;",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u2060",
    "\u00ad",
    "\u3164",  # Hangul filler: a letter that shows nothing
    "\U000e0041",  # a Unicode tag: hidden ASCII
    "\u2028",
    "\u0085",
    "\u200d",  # the joiner emoji sequences need: kept
    "👩\u200d💻",
    "*bold*",
    "_it_",
    "`code`",
    "> quote",
    "\n",
]
hostile_text = st.lists(
    st.sampled_from(HOSTILE_PIECES + TRICKY_CHARACTERS) | st.text(max_size=8), max_size=16
).map("".join)
"""Text that tries to become a link, a mention or hidden, reordered writing once in Slack."""

any_text = st.text(max_size=200) | tricky_text
"""Arbitrary unicode (control characters included), or tricky text."""

huge_text = st.builds(
    lambda chunk, times: chunk * times,
    st.sampled_from(["x", "9", "é", "😀", "a b ", "<@U0REP1> ", '"', "²"]),
    st.integers(4_400, 20_000),
)
"""Strings well past every limit (Slack's, ours, Python's 4300-digit int conversion)."""

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10,
)
"""Any JSON value."""


def fuzz(max_examples: int) -> Any:
    """Hypothesis settings for a fuzz test: no deadline (the app is real), fixtures allowed."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into a JSON-like ``node``: the empty path to ``node``
    itself first, then depth first."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            found += paths(value, (*prefix, n))
    return found
