"""Storage: the tables, the async database handle and migrations."""

from bot.storage.db import Database, async_url, sync_url

__all__ = ["Database", "async_url", "sync_url"]
