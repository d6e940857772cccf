"""The composition root: the Bolt app, HTTP routes, webhooks, jobs, server and CLI."""
