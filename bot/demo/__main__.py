"""``python -m bot.demo``: the same as ``trustbot demo``."""

import sys

from bot.demo import main

sys.exit(main())
