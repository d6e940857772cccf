"""The thin Slack layer: Web API client, Block Kit builders and Bolt middleware."""
