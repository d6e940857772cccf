"""slack_sdk's own OAuth tables (installs, bot tokens, OAuth states), declared on our
metadata so our migrations create them and the tests truncate them.

Kept apart from :mod:`bot.storage.models` so the domain never imports slack_sdk; the
migration environment and :mod:`bot.slack.installations` import this module.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlmodel import SQLModel

slack_installations = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
"""One row per install (bot and installer); read through :mod:`bot.slack.installations`."""
slack_bots = SQLAlchemyInstallationStore.build_bots_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_bots_table_name
)
"""The bot token of each install."""
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    SQLModel.metadata, SQLAlchemyOAuthStateStore.default_table_name
)
"""OAuth ``state`` values handed out by ``/slack/install``, until used or expired."""
