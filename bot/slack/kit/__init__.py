"""Block Kit: every message, modal and Home view Trustbot builds, as plain dicts."""
