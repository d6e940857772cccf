# Trustbot: one image for every role (web, worker, scheduler, migrate); see README "Deploying".
#   docker build -t trustbot .
#   docker run --env-file .env -p 3000:3000 -v trustbot-data:/data trustbot
# (one container on SQLite in /data, migrated on start; Compose runs the roles on PostgreSQL)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    TRUSTBOT_DATABASE_URL=sqlite:////data/trustbot.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY prompts/ prompts/
COPY slack_emulator/ slack_emulator/
RUN pip install . \
    && rm -rf /app/bot /app/handlers /app/prompts /app/slack_emulator \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin trustbot \
    && mkdir -p /data \
    && chown trustbot:trustbot /data

USER trustbot
# SQLite only (a single `serve --role all` container); with PostgreSQL nothing is written here
VOLUME ["/data"]
EXPOSE 3000

# liveness: the process answers and reaches its database (GET /healthz); readiness, for a load
# balancer or an orchestrator, is GET /readyz
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status != 200)"]

# SIGTERM: requests and DM posts in flight finish, claimed rows not yet posted go back to the
# outbox, the scheduler lease is released; give it up to 30 s (docker stop -t 30)
STOPSIGNAL SIGTERM
ENTRYPOINT ["trustbot"]
# --migrate: a new /data volume gets its schema, an upgraded image updates it, then it serves
CMD ["serve", "--migrate", "--role", "all", "--port", "3000"]
