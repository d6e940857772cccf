"""``python -m tests.attacks [DATABASE_URL]``: run the simulation (on a new SQLite file by
default, or on the migrated, empty database given), dump it without the key and print what
each linkage attack re-identifies. The tests assert the same, family by family."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bot.storage.migrate import upgrade
from tests.attacks._linkage import Adversary
from tests.attacks._simulation import steal


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = argv[0] if argv else f"sqlite:///{Path(folder) / 'trustbot.db'}"
        upgrade(url)
        stolen = steal(url)
    adversary = Adversary(stolen.dump)
    truth = {p: u for p, u in stolen.simulated.truth.items() if p in adversary.pseudonyms}
    print(f"{len(stolen.dump.tables)} tables, {stolen.dump.column_count()} columns dumped")
    print(f"user ID columns: {sorted(adversary.user_columns)}")
    print(f"pseudonym columns: {sorted(adversary.pseudonym_columns)}")
    print(adversary.attack().report(truth, stolen.simulated.names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
