"""The layering is enforced: ``make lint`` runs import-linter with the contracts in
pyproject.toml, and those contracts catch the two breaks issue #20 names."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": str(LINT.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the code (not the tests) that a test may break."""
    copy = tmp_path_factory.mktemp("layers")
    for name in ("bot", "handlers", "prompts", "slack_emulator"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_code_keeps_its_contracts(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("bot/core/teams.py", "import slack_sdk", "The domain imports nothing from Slack or HTTP"),
        ("bot/core/teams.py", "import starlette", "The domain imports nothing from Slack or HTTP"),
        (
            "bot/slack/sender.py",
            "import slack_emulator",
            "Production code never imports the emulator or the demo",
        ),
        ("bot/app/server.py", "import bot.demo", "Production code never imports"),
        ("bot/core/checkins.py", "import bot.slack.sender", "Layers"),
        ("slack_emulator/state.py", "import bot.core.teams", "The emulator imports nothing"),
    ],
)
def test_a_broken_contract_fails_the_lint(tree: Path, module: str, line: str, broken: str) -> None:
    path = tree / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}  # a break, for the test\n")
        result = lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
