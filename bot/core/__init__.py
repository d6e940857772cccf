"""The domain: plain Python over storage; imports nothing from Slack or HTTP."""
