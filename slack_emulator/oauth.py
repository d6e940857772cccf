"""Installing the app by OAuth v2: the authorize page and ``oauth.v2.access``.

``GET /oauth/v2/authorize?client_id=..&scope=..&state=..[&team=T..][&redirect_uri=..]``
stands for the installer clicking "Allow": it answers ``302`` to the redirect URL with a
one-time ``code`` and the ``state`` (or with ``error=access_denied`` when the emulator is
told to deny). ``oauth.v2.access`` exchanges the code for a new bot token of that workspace,
in Slack's response shape.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from slack_emulator.api_methods import ApiError, Call, WebApi
from slack_emulator.models import JsonDict

CODE_TTL = 600.0  # Slack's codes expire after 10 minutes


@dataclass
class Grant:
    """An authorization code, waiting to be exchanged."""

    team_id: str
    user_id: str
    scopes: list[str]
    redirect_uri: str | None
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


@dataclass
class Redirect:
    """What the authorize page answers: a redirect, or an error page (status, text)."""

    status: int
    location: str | None = None
    text: str = ""


def basic_auth(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an ``Authorization: Basic ...`` header."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


class OAuthServer:
    """The app's OAuth credentials and the codes handed out. Thread-safe."""

    def __init__(self, workspaces: Callable[[str | None], WebApi | None]) -> None:
        self._workspace = workspaces  # team_id (None: the first workspace) -> its Web API
        self.client_id: str | None = None
        self.client_secret: str | None = None
        self.redirect_urls: list[str] = []
        self.installer = "U0INSTALLER"
        self.deny = False
        self._codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def configure(
        self,
        client_id: str,
        client_secret: str,
        redirect_urls: list[str],
        *,
        installer: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_urls = list(redirect_urls)
        if installer is not None:
            self.installer = installer

    # -- the browser step ---------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> Redirect:
        """The installer allows (or denies) the app; where Slack sends the browser next."""
        if self.client_id is None:
            return Redirect(400, text="OAuth is not configured in this emulator")
        if query.get("client_id") != self.client_id:
            return Redirect(400, text="invalid_client_id: no app has this client ID")
        redirect_uri = query.get("redirect_uri") or None
        target = redirect_uri or (self.redirect_urls[0] if self.redirect_urls else None)
        if target is None or (redirect_uri is not None and redirect_uri not in self.redirect_urls):
            return Redirect(400, text="bad_redirect_uri: not one of the app's redirect URLs")
        params = {"state": query.get("state", "")}
        api = self._workspace(query.get("team") or None)
        if api is None:
            return Redirect(400, text=f"unknown team {query.get('team')!r}")
        if self.deny:
            params = {"error": "access_denied", **params}
        else:
            code = f"{int(time.time())}.{secrets.token_hex(16)}"
            scopes = [s for s in query.get("scope", "").split(",") if s]
            with self._lock:
                self._codes[code] = Grant(api.state.team_id, self.installer, scopes, redirect_uri)
            params = {"code": code, **params}
        separator = "&" if "?" in target else "?"
        return Redirect(302, location=f"{target}{separator}{urlencode(params)}")

    # -- the server step ------------------------------------------------------------

    def access(self, call: Call, authorization: str | None) -> JsonDict:
        """``oauth.v2.access``: a code for a bot token (Slack's shape and error codes)."""
        args = call.args
        credentials = basic_auth(authorization) or (
            str(args.get("client_id") or ""),
            str(args.get("client_secret") or ""),
        )
        if self.client_id is None or credentials[0] != self.client_id:
            raise ApiError("invalid_client_id")
        if credentials[1] != self.client_secret:
            raise ApiError("bad_client_secret")
        code = str(args.get("code") or "")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or time.monotonic() - grant.issued > CODE_TTL:
                raise ApiError("invalid_code")
            if grant.used:
                raise ApiError("code_already_used")
            if grant.redirect_uri is not None and args.get("redirect_uri") != grant.redirect_uri:
                raise ApiError("bad_redirect_uri")
            grant.used = True
        api = self._workspace(grant.team_id)
        if api is None:
            raise ApiError("invalid_code")
        st = api.state
        # The token carries the scopes the install asked for, as the response's "scope" says
        # (whether Slack refuses scopes the app's settings lack is not documented: not modelled).
        # Grid: "enterprise": {"id", "name"} (slack-api-ref docs.slack.dev/methods/
        # oauth.v2.access.json, a workspace inside an org); an org-wide install has
        # "team": null and "is_enterprise_install": true (api.slack.com/enterprise/apps/reference).
        enterprise = {"id": st.enterprise_id, "name": st.enterprise_name} if st.on_grid else None
        team = None if st.is_enterprise_install else {"id": st.team_id, "name": st.team_name}
        return {
            "ok": True,
            "access_token": api.issue_token(grant.scopes),
            "token_type": "bot",
            "scope": ",".join(grant.scopes),
            "bot_user_id": st.bot_user_id,
            "app_id": st.app_id,
            "team": team,
            "enterprise": enterprise,
            "is_enterprise_install": st.is_enterprise_install,
            "authed_user": {"id": grant.user_id},
        }
