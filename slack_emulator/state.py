"""The emulated workspace: users, conversations, messages, views, files, triggers."""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from slack_emulator.clock import EmulatorClock
from slack_emulator.models import JsonDict, ResponseUrlPost

_TZ_LABELS: dict[str, str] = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "GMT": "Greenwich Mean Time",
    "UTC": "Coordinated Universal Time",
    "BST": "British Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
}


def tz_fields(tz_name: str, now: datetime | None = None) -> dict[str, Any]:
    """``tz``, ``tz_label`` and ``tz_offset`` as users.info reports them for now."""
    zone = ZoneInfo(tz_name)
    local = (now or datetime.now(tz=zone)).astimezone(zone)
    offset_td = local.utcoffset()
    offset = int(offset_td.total_seconds()) if offset_td is not None else 0
    abbrev = local.tzname() or ""
    if abbrev == "IST":
        label = "India Standard Time" if offset == 19800 else "Irish Standard Time"
    elif abbrev in _TZ_LABELS:
        label = _TZ_LABELS[abbrev]
    else:
        sign = "+" if offset >= 0 else "-"
        hours, minutes = divmod(abs(offset) // 60, 60)
        label = f"UTC{sign}{hours:02d}:{minutes:02d}"
    return {"tz": tz_name, "tz_label": label, "tz_offset": offset}


@dataclass
class Trigger:
    """A trigger_id handed to the app with a delivery."""

    user_id: str
    issued: float
    used: bool = False
    expired: bool = False


@dataclass
class WorkspaceState:
    """Everything the emulated Slack knows. All access goes through ``lock``."""

    team_id: str = "T0001"
    team_name: str = "Acme"
    team_domain: str = "acme"
    app_id: str = "A0EMULATOR"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    bot_name: str = "trustbot"
    enterprise_id: str | None = None
    """The Enterprise Grid org this workspace belongs to (None: not on Grid)."""
    enterprise_name: str | None = None
    is_enterprise_install: bool = False
    """The app is installed org-wide (on the whole Grid org, not this workspace alone)."""
    clock: EmulatorClock = field(default_factory=EmulatorClock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, JsonDict] = field(default_factory=dict)
    channels: dict[str, JsonDict] = field(default_factory=dict)
    dm_by_user: dict[str, str] = field(default_factory=dict)
    messages: dict[str, dict[str, JsonDict]] = field(default_factory=dict)
    ephemerals: list[JsonDict] = field(default_factory=list)
    views: dict[str, JsonDict] = field(default_factory=dict)
    view_events: list[JsonDict] = field(default_factory=list)
    home_views: dict[str, JsonDict] = field(default_factory=dict)
    files: dict[str, JsonDict] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)
    response_urls: dict[str, JsonDict] = field(default_factory=dict)
    response_url_posts: list[ResponseUrlPost] = field(default_factory=list)
    _last_ts_us: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.add_user(self.bot_user_id, name=self.bot_name, is_bot=True, tz="UTC")

    @property
    def on_grid(self) -> bool:
        return self.enterprise_id is not None

    def join_enterprise(
        self, enterprise_id: str | None, enterprise_name: str | None, *, org_install: bool
    ) -> None:
        """Make this workspace part of a Grid org (None: leave it), installed org-wide or not."""
        if org_install and enterprise_id is None:
            raise ValueError("an org-wide install needs an Enterprise Grid org (enterprise_id)")
        with self.lock:
            self.enterprise_id = enterprise_id
            self.enterprise_name = (enterprise_name or "") if enterprise_id else None
            self.is_enterprise_install = org_install

    # -- ids ----------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self._ids):08X}"

    def new_ts(self) -> str:
        """A unique, increasing message ts ("seconds.micros")."""
        with self.lock:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            seconds, micros = divmod(self._last_ts_us, 1_000_000)
            return f"{seconds}.{micros:06d}"

    # -- users ----------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
        email: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
        is_org_admin: bool = False,
        is_org_owner: bool = False,
    ) -> JsonDict:
        ZoneInfo(tz)  # fail early on a bad zone name
        spec = {
            "id": user_id,
            "name": name or user_id.lower(),
            "real_name": real_name or (name or user_id).title(),
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "email": email,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_org_admin": is_org_admin,
            "is_org_owner": is_org_owner,
            "error": None,  # an error Slack answers about this user (see WebApi._user_for_dm)
            "updated": int(time.time()),
        }
        with self.lock:
            self.users[user_id] = spec
        return self.user_object(user_id) or {}

    def user_object(self, user_id: str) -> JsonDict | None:
        """The user as users.info returns it (tz offset computed for now)."""
        with self.lock:
            spec = self.users.get(user_id)
            if spec is None:
                return None
            spec = dict(spec)
        profile: JsonDict = {
            "real_name": spec["real_name"],
            "real_name_normalized": spec["real_name"],
            "display_name": spec["name"],
            "display_name_normalized": spec["name"],
            "first_name": spec["real_name"].split(" ")[0],
            "last_name": " ".join(spec["real_name"].split(" ")[1:]),
            "title": "",
            "phone": "",
            "skype": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g000000000",
            "image_48": "https://secure.gravatar.com/avatar/0.jpg",
            "team": self.team_id,
        }
        if spec["email"] is not None:
            profile["email"] = spec["email"]
        if spec["is_bot"]:
            profile["bot_id"] = self.bot_id if spec["id"] == self.bot_user_id else "B" + spec["id"]
            profile["api_app_id"] = self.app_id if spec["id"] == self.bot_user_id else ""
        user: JsonDict = {
            "id": spec["id"],
            "team_id": self.team_id,
            "name": spec["name"],
            "deleted": spec["deleted"],
            "color": "9f69e7",
            "real_name": spec["real_name"],
            **tz_fields(spec["tz"]),
            "profile": profile,
            "is_admin": spec["is_admin"],
            "is_owner": spec["is_owner"],
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": spec["is_bot"],
            "is_app_user": False,
            "updated": spec["updated"],
            "is_email_confirmed": spec["email"] is not None,
            "who_can_share_contact_card": "EVERYONE",
        }
        if self.enterprise_id is not None:
            # Grid: the org-level role next to the workspace one; shape copied from slackapi/
            # java-slack-sdk json-logs/samples/api/users.info.json ("enterprise_user": {"id",
            # "enterprise_id", "enterprise_name", "is_admin", "is_owner", "teams"}).
            user["enterprise_user"] = {
                "id": spec["id"],
                "enterprise_id": self.enterprise_id,
                "enterprise_name": self.enterprise_name or "",
                "is_admin": spec.get("is_org_admin", False),
                "is_owner": spec.get("is_org_owner", False),
                "teams": [self.team_id],
            }
        return user

    def find_user_by_email(self, email: str) -> str | None:
        with self.lock:
            for uid, spec in self.users.items():
                if spec["email"] and spec["email"].lower() == email.lower():
                    return uid
        return None

    # -- conversations ----------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        members: list[str] | None = None,
    ) -> JsonDict:
        now = int(time.time())
        channel: JsonDict = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "created": now,
            "is_archived": is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": now * 1000,
            "parent_conversation": None,
            "creator": self.bot_user_id,
            "is_ext_shared": False,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "is_member": is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "members": list(members or []),
        }
        with self.lock:
            self.channels[channel_id] = channel
            self.messages.setdefault(channel_id, {})
        return copy.deepcopy(channel)

    def conversation_kind(self, channel_id: str) -> str | None:
        """ "im", "mpim", "private" or "public" (None: no such conversation)."""
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None:
                return None
            if channel.get("is_im"):
                return "im"
            if channel.get("is_mpim"):
                return "mpim"
            return "private" if channel.get("is_private") else "public"

    def open_dm(self, user_id: str) -> tuple[str, bool]:
        """The app's DM channel with a user: (channel id, already open)."""
        with self.lock:
            existing = self.dm_by_user.get(user_id)
            if existing is not None:
                return existing, True
            channel_id = self.new_id("D")
            self.channels[channel_id] = {
                "id": channel_id,
                "created": int(time.time()),
                "is_im": True,
                "is_org_shared": False,
                "user": user_id,
                "last_read": "0000000000.000000",
                "latest": None,
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
                "priority": 0,
                "context_team_id": self.team_id,
            }
            self.dm_by_user[user_id] = channel_id
            self.messages.setdefault(channel_id, {})
            return channel_id, False

    def channel_object(self, channel_id: str) -> JsonDict | None:
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None:
                return None
            result = copy.deepcopy(channel)
        result.pop("members", None)
        return result

    # -- messages ---------------------------------------------------------

    def store_message(self, message: JsonDict) -> None:
        with self.lock:
            self.messages.setdefault(message["channel"], {})[message["ts"]] = message

    def get_message(self, channel_id: str, ts: str) -> JsonDict | None:
        with self.lock:
            return self.messages.get(channel_id, {}).get(ts)

    def delete_message(self, channel_id: str, ts: str) -> bool:
        with self.lock:
            return self.messages.get(channel_id, {}).pop(ts, None) is not None

    def list_messages(self, channel_id: str | None = None) -> list[JsonDict]:
        with self.lock:
            if channel_id is None:
                found = [m for msgs in self.messages.values() for m in msgs.values()]
            else:
                found = list(self.messages.get(channel_id, {}).values())
            found = copy.deepcopy(found)
        return sorted(found, key=lambda m: float(m["ts"]))

    def history(
        self,
        channel_id: str,
        *,
        oldest: Decimal,
        latest: Decimal | None,
        include_oldest: bool = False,
        include_latest: bool = False,
    ) -> list[JsonDict]:
        """Top-level messages of a channel between ``oldest`` and ``latest`` (None: no upper
        bound), newest first.

        Thread replies stay in their thread, as in Slack's ``conversations.history``.
        """
        with self.lock:
            found = [
                m
                for m in self.messages.get(channel_id, {}).values()
                if m.get("thread_ts") in (None, m["ts"])
            ]
            found = copy.deepcopy(found)
        chosen = []
        for message in found:
            ts = Decimal(message["ts"])
            low = ts >= oldest if include_oldest else ts > oldest
            high = latest is None or (ts <= latest if include_latest else ts < latest)
            if low and high:
                chosen.append((ts, message))
        chosen.sort(key=lambda pair: pair[0], reverse=True)
        return [message for _, message in chosen]

    # -- triggers -----------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = (
            f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        )
        with self.lock:
            self.triggers[trigger_id] = Trigger(user_id=user_id, issued=self.clock.now())
        return trigger_id

    def expire_trigger(self, trigger_id: str) -> None:
        """Make a trigger_id answer ``expired_trigger_id`` from now on."""
        with self.lock:
            self.triggers[trigger_id].expired = True

    def consume_trigger(self, trigger_id: str | None, ttl: float) -> str | None:
        """Use a trigger; returns Slack's error code, or None when valid."""
        if not trigger_id:
            return "invalid_trigger_id"
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None:
                return "invalid_trigger_id"
            if trigger.used:
                return "exchanged_trigger_id"
            if trigger.expired or self.clock.now() - trigger.issued > ttl:
                return "expired_trigger_id"
            trigger.used = True
        return None
