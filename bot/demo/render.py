"""Block Kit as a person reads it in Slack, for the terminal (rich).

Walks the blocks a message was actually posted with: header, section text and fields (and its
accessory), context, actions (buttons as ``[label]``, the chosen one highlighted; selects as
``[choice ▾]``), dividers, images and inputs. mrkdwn becomes rich markup: ``*bold*``,
``_italic_``, ``~strike~``, ```code```, ``> quotes``, and ``<#C..|name>`` / ``<@U..>`` /
``<url|text>`` become names and link text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.errors import MarkupError
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

EMOJI = {
    "bulb": "💡",
    "seedling": "🌱",
    "wave": "👋",
    "warning": "⚠️",
    "chart_with_upwards_trend": "📈",
    "white_check_mark": "✅",
    "tada": "🎉",
    "handshake": "🤝",
    "memo": "📝",
    "bell": "🔔",
    "calendar": "📅",
    "money_with_wings": "💸",
    "trophy": "🏆",
    "x": "❌",
    "thinking_face": "🤔",
    "point_right": "👉",
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "mag": "🔍",
    "eyes": "👀",
    "star": "⭐",
}

_ENTITY = re.compile(r"<([^<>\n]+)>")
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")


@dataclass
class Directory:
    """Display names for the IDs Slack text carries (``<@U..>``, ``<#C..>``)."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


def _entity(inner: str, names: Directory) -> str:
    """What a ``<...>`` entity reads as."""
    target, _, label = inner.partition("|")
    if target.startswith("#"):
        return "#" + (label or names.channel(target[1:]))
    if target.startswith("@"):
        return "@" + (label or names.user(target[1:]))
    if target.startswith("!"):
        special = target[1:].split("^")[0]
        return label or ("@" + special if special in ("here", "channel", "everyone") else special)
    return label or target


def _styled(text: str, names: Directory) -> str:
    """mrkdwn outside code spans as rich markup: entities, then bold / italic / strike."""
    parts: list[str] = []
    last = 0
    for match in _ENTITY.finditer(text):
        parts.append(escape(html.unescape(text[last : match.start()])))
        shown = escape(_entity(html.unescape(match.group(1)), names))
        parts.append(f"[bold blue]{shown}[/bold blue]")
        last = match.end()
    parts.append(escape(html.unescape(text[last:])))
    markup = "".join(parts)
    markup = _BOLD.sub(r"[bold]\1[/bold]", markup)
    markup = _ITALIC.sub(r"[italic]\1[/italic]", markup)
    markup = _STRIKE.sub(r"[strike]\1[/strike]", markup)
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), markup)


def _inline(text: str, names: Directory) -> str:
    """One line of mrkdwn (entities still escaped) as rich markup; code spans stay literal."""
    parts: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        parts.append(_styled(text[last : match.start()], names))
        parts.append(f"[bold cyan]{escape(html.unescape(match.group(1)))}[/bold cyan]")
        last = match.end()
    parts.append(_styled(text[last:], names))
    return "".join(parts)


def mrkdwn(text: str, names: Directory, style: str = "") -> Text:
    """Slack mrkdwn as a rich :class:`Text` (quotes get a bar, like Slack's)."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(">"):
            body = line[1:].removeprefix(" ")
            lines.append(f"[dim]▌[/dim] [italic]{_inline(body, names)}[/italic]")
        else:
            lines.append(_inline(line, names))
    try:
        rendered = Text.from_markup("\n".join(lines), emoji=False)
    except MarkupError:  # formatting we could not map: show the text as Slack stored it
        rendered = Text(html.unescape(text))
    if style:
        rendered.stylize(style)
    return rendered


def _text_object(obj: Mapping[str, Any] | None, names: Directory, style: str = "") -> Text:
    if not obj:
        return Text()
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names, style)
    plain = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), str(obj.get("text", "")))
    return Text(plain, style=style)


def _options(element: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def element(el: Mapping[str, Any], names: Directory) -> Text:
    """An interactive element as a label in brackets; the chosen answer stands out."""
    kind = el.get("type")
    if kind == "button":
        label = _text_object(el.get("text"), names).plain
        if el.get("style") == "primary":
            return Text(f"[✓ {label}]", style="bold black on green")
        if el.get("style") == "danger":
            return Text(f"[{label}]", style="bold red")
        return Text(f"[{label}]", style="cyan")
    if kind in ("static_select", "external_select", "radio_buttons", "overflow"):
        chosen = el.get("initial_option")
        if chosen:
            return Text(
                f"[✓ {_text_object(chosen.get('text'), names).plain} ▾]", style="bold green"
            )
        placeholder = _text_object(el.get("placeholder"), names).plain or "Choose"
        count = len(_options(el))
        return Text(f"[{placeholder} ▾]", style="cyan") + Text(f" ({count} options)", style="dim")
    if kind in ("users_select", "conversations_select", "channels_select"):
        return Text(f"[{_text_object(el.get('placeholder'), names).plain or kind} ▾]", style="cyan")
    if kind == "checkboxes":
        ticked = {o.get("value") for o in el.get("initial_options") or []}
        boxes = [
            ("☑ " if o.get("value") in ticked else "☐ ") + _text_object(o.get("text"), names).plain
            for o in _options(el)
        ]
        return Text("  ".join(boxes), style="cyan")
    if kind == "image":
        return Text(f"[image: {el.get('alt_text', '')}]", style="dim")
    if kind in ("mrkdwn", "plain_text"):
        return _text_object(el, names)
    return Text(f"[{kind}]", style="cyan")


def _rich_text(block: Mapping[str, Any]) -> Text:
    out = Text()
    for section in block.get("elements") or []:
        for item in section.get("elements") or []:
            style = "bold" if (item.get("style") or {}).get("bold") else ""
            out.append(str(item.get("text") or item.get("url") or ""), style=style)
        out.append("\n")
    return out


def blocks(items: Iterable[Mapping[str, Any]], names: Directory) -> list[RenderableType]:
    """Each block as rich renderables, in order."""
    out: list[RenderableType] = []
    for block in items:
        kind = block.get("type")
        if kind == "header":
            out.append(_text_object(block.get("text"), names, "bold underline"))
        elif kind == "section":
            body: list[RenderableType] = []
            if block.get("text"):
                body.append(_text_object(block.get("text"), names))
            if block.get("fields"):
                grid = Table.grid(padding=(0, 3))
                grid.add_column()
                grid.add_column()
                cells = [_text_object(f, names) for f in block["fields"]]
                for i in range(0, len(cells), 2):
                    grid.add_row(*cells[i : i + 2])
                body.append(grid)
            accessory = block.get("accessory")
            if accessory:
                body.append(Padding(element(accessory, names), (0, 0, 0, 4)))
            out.append(Group(*body))
        elif kind == "context":
            line = Text(" ", style="dim").join(
                element(el, names) for el in block.get("elements") or []
            )
            line.stylize("dim")
            out.append(line)
        elif kind == "actions":
            out.append(Text("  ").join(element(el, names) for el in block.get("elements") or []))
        elif kind == "divider":
            out.append(Rule(style="dim"))
        elif kind == "image":
            title = _text_object(block.get("title"), names).plain
            out.append(Text(f"[image: {title or block.get('alt_text', '')}]", style="dim"))
        elif kind == "input":
            label = _text_object(block.get("label"), names, "bold")
            out.append(Group(label, element(block.get("element") or {}, names)))
        elif kind == "rich_text":
            out.append(_rich_text(block))
        else:
            out.append(Text(f"[{kind} block]", style="dim"))
    return out


def message(
    msg: Mapping[str, Any],
    names: Directory,
    *,
    title: str,
    subtitle: str | None = None,
    extra: Iterable[RenderableType] = (),
    border: str = "magenta",
) -> Panel:
    """A posted message as a panel: its blocks, or its text when it has none."""
    body = blocks(msg.get("blocks") or [], names)
    if not body:
        body = [mrkdwn(str(msg.get("text") or ""), names)]
    body.extend(extra)
    return Panel(
        Group(*body),
        title=title,
        title_align="left",
        subtitle=subtitle,
        subtitle_align="right",
        border_style=border,
    )
