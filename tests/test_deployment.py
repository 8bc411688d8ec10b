"""The Dockerfile and compose.yaml, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> list[str]:
    """Every argument of the instruction `name`, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m[1].strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, re.MULTILINE)]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
    result = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_entry_is_the_readme_command_in_exec_form() -> None:
    (entry,) = instruction("ENTRYPOINT")
    (command,) = instruction("CMD")
    assert json.loads(entry) + json.loads(command) == ["imagine-bot", "run"]
    assert "imagine-bot run" in (ROOT / "README.md").read_text()


def test_a_non_root_user_a_data_volume_and_a_tool_free_healthcheck() -> None:
    (user,) = instruction("USER")
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) > 0
    assert json.loads(instruction("VOLUME")[0]) == ["/data"]
    (health,) = instruction("HEALTHCHECK")
    probe = json.loads(health.split("CMD", 1)[1])
    assert probe[0] == "python" and "/livez" in probe[-1]
    assert "DATA_DIR=/data" in DOCKERFILE


def test_dependencies_have_their_own_layer_before_the_code() -> None:
    assert DOCKERFILE.index("--requirement") < DOCKERFILE.index("COPY core")
    assert DOCKERFILE.index("COPY pyproject.toml") < DOCKERFILE.index("--requirement")


@pytest.mark.parametrize("name", ["compose.single.yaml", "compose.yaml"])
def test_compose_keeps_data_and_stops_gracefully(name: str) -> None:
    compose = (ROOT / name).read_text()
    assert re.search(r"^\s+- bot-data:/data$", compose, re.MULTILINE)
    grace = float(re.search(r'SHUTDOWN_GRACE_SECONDS: "(\d+)"', compose)[1])  # type: ignore[index]
    stop = float(re.search(r"stop_grace_period: (\d+)s", compose)[1])  # type: ignore[index]
    assert grace < stop  # the bot exits on its own before Docker kills it


def test_scale_out_compose_runs_gateways_and_workers_on_redis() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["worker"]["command"] == ["worker"]
    assert services["gateway-telegram"]["command"] == ["gateway", "--platform", "telegram"]
    assert services["gateway-discord"]["command"] == ["gateway", "--platform", "discord"]
    assert "--appendonly" in services["redis"]["command"]
    for name in ("worker", "gateway-telegram", "gateway-discord"):
        service = services[name]
        assert service["environment"]["STORE_URL"] == "redis://redis:6379/0"
        assert "ports" not in service or name == "gateway-telegram"  # workers scale freely
    assert services["gateway-telegram"]["environment"]["TELEGRAM_MODE"] == "webhook"
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^COMPOSE_PROFILES=telegram,discord$", example, re.MULTILINE)


def test_pre_commit_runs_what_ci_runs() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {hook["entry"].removeprefix(".venv/bin/") for hook in hooks}
    script = (ROOT / "scripts" / "test").read_text().replace('"', "")
    ci = {
        line.split("$VENV/bin/")[1].strip() for line in script.splitlines() if "$VENV/bin/" in line
    }
    assert entries == {"ruff check", "ruff format --check", "mypy"}
    assert {"ruff check .", "ruff format --check .", "mypy"} <= ci
