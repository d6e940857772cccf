"""The ``trustbot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import logging
import sys
from collections.abc import Sequence

from bot.runtime import logs
from bot.runtime.settings import Settings, SettingsError, load_settings, requirements

log = logging.getLogger("bot.app.cli")  # not "__main__" under python -m bot.app.cli

DESCRIPTION = "Trustbot: trust-building check-ins, deal nudges and anonymised digests for Slack."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trustbot", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"trustbot {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="HTTP mode: Slack events, commands and clicks at POST /slack/events; GET /healthz",
        description="Serve Slack's Events API, slash commands and interactivity over HTTP "
        "(all at POST /slack/events, signed with SLACK_SIGNING_SECRET) and GET /healthz.",
    )
    run = sub.add_parser(
        "run",
        help="Socket Mode (needs SLACK_APP_TOKEN), plus the HTTP endpoints on --port",
        description="Connect to Slack over Socket Mode with SLACK_APP_TOKEN (no public URL "
        "needed) and also serve the HTTP endpoints (health, webhooks) on --port.",
    )
    for p in (serve, run):
        p.add_argument("--port", type=port, default=3000, help="HTTP port (default 3000)")
        p.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")  # noqa: S104
        p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
        p.add_argument(
            "--migrate",
            action="store_true",
            help="bring the database schema up to date first (one process on SQLite, as the "
            "Docker image runs; with several processes run `trustbot migrate` once instead)",
        )
        p.add_argument(
            "--role",
            default="all",
            choices=["all", "web", "worker", "scheduler"],
            help="web: Slack and webhook requests; worker: delivers the outbox; scheduler: the "
            "periodic jobs (one process at a time, by a database lease); all: everything",
        )
    # the demo reads its own options (``trustbot demo --help``): building this parser, as
    # every command does, never imports the demo or the emulator
    sub.add_parser(
        "demo",
        help="the whole product offline: a local Slack emulator, a simulated team, digests",
        add_help=False,
    )
    sub.add_parser(
        "migrate",
        help="bring the database schema up to date (TRUSTBOT_DATABASE_URL)",
        description="Apply every pending migration to TRUSTBOT_DATABASE_URL.",
    )
    return parser


def version() -> str:
    """The installed package's version (its metadata), or "unknown" from a bare checkout."""
    try:
        return importlib.metadata.version("trustbot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def port(text: str) -> int:
    """``--port``: a TCP port number, 0 (any free port) to 65535."""
    if not text.strip().isdecimal() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: expected 0 to 65535")
    return int(text)


def fail(message: str) -> int:
    print(f"trustbot: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["demo"]:  # embedded defaults, its own options: needs no settings
        return run_demo(words[1:])
    args = build_parser().parse_args(words)
    try:
        settings = load_settings()
        settings.require(*requirements(args.command, settings))
    except SettingsError as error:
        return fail(str(error))
    if args.command == "migrate":
        return migrate(settings)
    return serve(settings, args)


def run_demo(argv: list[str]) -> int:
    if importlib.util.find_spec("rich") is None:
        return fail("the demo needs its extra: pip install 'trustbot[demo]' (or make demo)")
    from bot import demo

    return demo.main(argv=argv)


def migrate(settings: Settings) -> int:
    from bot.storage.migrate import ClearTokensError, pending, upgrade

    try:
        before, head = pending(settings.TRUSTBOT_DATABASE_URL)
        sealed = upgrade(
            settings.TRUSTBOT_DATABASE_URL,
            pseudonym_key=settings.TRUSTBOT_PSEUDONYM_KEY,
            token_key=settings.TRUSTBOT_TOKEN_KEY,
        )
    except ClearTokensError as error:
        return fail(str(error))
    except Exception as error:  # the database refused: say so in one line
        return fail(f"TRUSTBOT_DATABASE_URL: cannot migrate: {str(error).splitlines()[0]}")
    was = "" if before == head else f" (was {before or 'empty'})"
    also = f"; {sealed} Slack token{'s' if sealed != 1 else ''} sealed" if sealed else ""
    print(f"database at revision {head}{was}{also}")
    return 0


def serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app.server import TrustbotServer
    from bot.core.prompts import PromptBankError, default_bank
    from bot.runtime import Runtime, allocator
    from bot.storage import Database
    from bot.storage.migrate import pending

    allocator.limit_arenas()  # before any thread starts

    try:
        default_bank()  # a bad prompt file stops start-up here, naming the file and prompt
    except PromptBankError as error:
        return fail(str(error))
    logs.configure(
        args.log_level,
        secrets=(
            settings.SLACK_BOT_TOKEN,
            settings.SLACK_SIGNING_SECRET,
            settings.SLACK_APP_TOKEN,
            settings.SLACK_CLIENT_SECRET,
            settings.TRUSTBOT_PSEUDONYM_KEY,
            settings.TRUSTBOT_WEBHOOK_SECRET,
            settings.TRUSTBOT_TOKEN_KEY,
        ),
    )
    if args.migrate and migrate(settings) != 0:
        return 2
    try:
        current, head = pending(settings.TRUSTBOT_DATABASE_URL)
    except Exception as error:
        return fail(f"TRUSTBOT_DATABASE_URL: cannot connect: {str(error).splitlines()[0]}")
    if current is None:
        return fail("the database has no schema yet: run `trustbot migrate`")
    if current != head:
        return fail(
            f"the database schema is at {current}, this version needs {head}: "
            "run `trustbot migrate`"
        )
    try:
        server = TrustbotServer(
            lambda: Runtime(settings=settings, db=Database(settings.TRUSTBOT_DATABASE_URL)),
            host=args.host,
            port=args.port,
            socket_mode=args.command == "run",
            log_level=args.log_level,
            role=args.role,
        )
    except OSError as error:  # in use, not allowed, or no such address
        reason = error.strerror or str(error)
        return fail(f"--port {args.port}: cannot listen on {args.host}: {reason}")
    log.info("trustbot %s, role %s, listening on %s", args.command, args.role, server.url)
    asyncio.run(server.serve())  # until SIGTERM or SIGINT: work in flight finishes first
    return fail(server.failure) if server.failure else 0


if __name__ == "__main__":
    sys.exit(main())
