"""The Dockerfile and docker-compose.yml run the real CLI with every setting the app needs.

Docker cannot build here (no registry), so the files are read as data: each command is parsed
by the CLI's own parser, and the environment Compose would pass is loaded by the app's own
settings loader.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.app.cli import build_parser
from bot.runtime.settings import Settings, load_settings, requirements
from tests.support.cli import running

ROOT = Path(__file__).resolve().parents[1]
ROLES = {"web": "web", "worker": "worker", "scheduler": "scheduler"}
APP_SERVICES = ("migrate", *ROLES)
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[?-])(?P<arg>[^}]*))?\}")
DOTENV = {  # what an operator's .env would hold
    "POSTGRES_PASSWORD": "pg-password",
    "SLACK_BOT_TOKEN": "xoxb-1-deploy",
    "SLACK_SIGNING_SECRET": "deploy-signing-secret",
    "TRUSTBOT_PSEUDONYM_KEY": "deploy-pseudonym-key-0123456789",
    "TRUSTBOT_WEBHOOK_SECRET": "deploy-webhook-secret",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def instructions() -> dict[str, list[str]]:
    """Dockerfile instructions by keyword (continuation lines joined, comments dropped)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword.upper(), []).append(rest.strip())
    return found


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == "?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == "-" else ""

    return VARIABLE.sub(one, value)


def test_the_services_and_their_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", *APP_SERVICES}
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    (volume,) = postgres["volumes"]
    assert volume.split(":")[0] in compose["volumes"]  # a named volume: data outlives containers
    assert "pg_isready" in str(postgres["healthcheck"]["test"])
    migrate = services["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    for name in ROLES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_each_service_runs_a_trustbot_command_the_cli_accepts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert build_parser().parse_args(services["migrate"]["command"]).command == "migrate"
    for name, role in ROLES.items():
        service = services[name]
        args = build_parser().parse_args(service["command"])
        assert (args.command, args.role) == ("serve", role)
        probe = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{args.port}/healthz" in probe
        assert "container_name" not in service
    # only the web role takes requests; workers publish no port, so they scale
    assert [n for n in ROLES if "ports" in compose["services"][n]] == ["web"]
    assert compose["services"]["web"]["ports"][0].endswith(":3000")
    # a worker finishes the posts in flight after SIGTERM: more than Docker's default 10 s
    assert int(compose["services"]["worker"]["stop_grace_period"].rstrip("s")) >= 20


def test_every_setting_reaches_every_app_service(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert set(environment) == set(Settings.model_fields), name
        passed = {key: interpolate(str(value), DOTENV) for key, value in environment.items()}
        settings = load_settings(**{key: value for key, value in passed.items() if value})
        settings.require(*requirements("serve", settings))  # nothing missing to start
        assert settings.TRUSTBOT_DATABASE_URL == (
            "postgresql://trustbot:pg-password@postgres:5432/trustbot"
        )
        postgres = compose["services"]["postgres"]["environment"]
        assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("trustbot", "trustbot")


def test_a_missing_required_setting_stops_compose_by_name(compose: dict[str, Any]) -> None:
    environment = compose["services"]["worker"]["environment"]
    single = Settings(SLACK_BOT_TOKEN="xoxb-1")
    oauth = Settings(SLACK_CLIENT_ID="1.2")
    always = set(requirements("serve", single)) & set(requirements("serve", oauth))
    assert always  # the signing secret, the pseudonym key, the webhook secret
    for name in always:
        with pytest.raises(LookupError, match=name):
            interpolate(str(environment[name]), {k: v for k, v in DOTENV.items() if k != name})


def test_the_dockerfile_runs_the_console_script_as_a_user() -> None:
    found = instructions()
    assert found["FROM"] == ["python:3.11-slim"]
    assert json.loads(found["ENTRYPOINT"][-1]) == ["trustbot"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["trustbot"] == "bot.app.cli:main"
    args = build_parser().parse_args(json.loads(found["CMD"][-1]))
    assert args.command == "serve"
    assert any("pip install ." in run for run in found["RUN"])
    (user,) = found["USER"]
    assert user not in ("root", "0")
    (probe,) = found["HEALTHCHECK"]
    assert f"127.0.0.1:{args.port}/healthz" in probe
    assert found["STOPSIGNAL"] == ["SIGTERM"]
    copied = {source.rstrip("/") for c in found["COPY"] for source in c.split()[:-1]}
    packages = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {p.rstrip("*") for p in packages} | {"pyproject.toml", "README.md"} <= copied


def test_no_secret_or_database_goes_into_the_image() -> None:
    rules = [r for r in (ROOT / ".dockerignore").read_text().splitlines() if r and r[0] != "#"]
    assert rules[0] == "*"  # everything is left out but what is let back in
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "bot", "handlers", "prompts"}
    assert {"**/.env", "**/*.db"} <= set(rules)


def readme_block(containing: str) -> list[str]:
    """The lines of README's ```sh block that contains ``containing``."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if containing in b]
    return block.splitlines()


def test_readmes_env_file_reads_the_same_to_docker_run_and_compose() -> None:
    """``docker run --env-file`` takes everything after ``=`` as the value, a trailing
    ``# comment`` included (Compose would drop it): comments stay on their own lines."""
    lines = readme_block("cat > .env")
    body = lines[lines.index("cat > .env <<'END'") + 1 : lines.index("END")]
    for line in body:
        if line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Z_]+", name) and "#" not in value and value == value.strip()
    names = {line.partition("=")[0] for line in body if not line.startswith("#")}
    assert names - {"POSTGRES_PASSWORD"} <= set(Settings.model_fields)


def test_readmes_single_container_starts_on_a_new_volume(tmp_path: Path) -> None:
    """``docker run ... -v trustbot-data:/data trustbot`` runs the image's CMD on an empty
    /data: it must create the schema itself (on main it refused: no schema) and serve."""
    (command,) = [line for line in readme_block("docker build") if line.startswith("docker run")]
    assert command.split()[-1] == "trustbot"  # no command given: the image's CMD runs
    assert "-v trustbot-data:/data" in command
    cmd = json.loads(instructions()["CMD"][-1])
    args = build_parser().parse_args(cmd)
    assert args.migrate and args.role == "all"
    image_env = dict(
        item.split("=", 1) for item in " ".join(instructions()["ENV"]).split() if "=" in item
    )
    data = tmp_path / "data"  # the new, empty volume
    data.mkdir()
    database = image_env["TRUSTBOT_DATABASE_URL"].replace("////data/", f"///{data}/")
    dotenv = {k: v for k, v in DOTENV.items() if k != "POSTGRES_PASSWORD"}
    given = cmd[: cmd.index("--port")] + cmd[cmd.index("--port") + 2 :]  # ours: a free one
    with running(
        tmp_path,
        *given,
        TRUSTBOT_DATABASE_URL=database,
        SLACK_API_URL="http://127.0.0.1:9/api/",
        **dotenv,
    ) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=5).json() == {"ok": True}
    assert (data / "trustbot.db").exists()
