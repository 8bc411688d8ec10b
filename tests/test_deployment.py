"""The Dockerfile and compose.yaml, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.settings import load_settings

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
    assert "DATA_DIR=/data" in DOCKERFILE


def test_the_healthcheck_reads_the_settings_the_bot_reads() -> None:
    """bot.healthcheck asks /livez at HEALTH_HOST:HEALTH_PORT (tests/bot/test_healthcheck.py),
    so the image must run it rather than a fixed URL."""
    (health,) = instruction("HEALTHCHECK")
    assert json.loads(health.split("CMD", 1)[1]) == ["python", "-m", "bot.healthcheck"]
    assert "8080/livez" not in DOCKERFILE


def final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def test_the_image_installs_the_lock_file_then_only_the_built_wheel() -> None:
    image = final_stage()
    assert "COPY requirements.lock" in image
    (locked, wheel) = [step for step in instruction("RUN") if "pip install" in step]
    assert "--require-hashes --requirement /tmp/requirements.lock" in locked
    assert image.index("requirements.lock") < image.index("--mount=type=bind,from=build")
    assert "pip install --no-deps /wheels/*.whl" in wheel
    # No source tree, build folder or egg-info in the image: nothing but the lock is copied.
    copied = [line for line in image.splitlines() if line.startswith("COPY")]
    assert copied == ["COPY requirements.lock /tmp/requirements.lock"]


def locked(name: str) -> dict[str, str]:
    """A lock file's pins, by normalised name, each checked to carry its hashes."""
    text = (ROOT / name).read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            requirement, _, rest = line.partition(" ")
            package, version = requirement.split(";")[0].split("==")
            assert "--hash=sha256:" in rest, f"{name}: {package} has no hash"
            pins[canonicalize_name(package)] = version
    return pins


def test_the_lock_files_pin_what_pyproject_allows_and_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for line in wanted:
        requirement = Requirement(line)
        version = dev[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), f"{requirement} locked at {version}"
    # The tests run exactly the versions the image runs.
    assert {name: dev[name] for name in runtime} == runtime
    for line in project["dependencies"]:
        assert canonicalize_name(Requirement(line).name) in runtime


def test_ci_and_the_run_script_install_from_the_locks() -> None:
    venv = (ROOT / "scripts" / "venv.sh").read_text()
    assert "--require-hashes -r" in venv
    assert "install_locked requirements-dev.lock" in (ROOT / "scripts" / "test").read_text()
    assert "install_locked requirements.lock" in (ROOT / "scripts" / "run").read_text()


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_env_example_can_be_given_to_docker_run_as_it_is() -> None:
    """`docker run --env-file .env` takes every line literally and overrides the image's ENV:
    the example must leave the image's own settings (DATA_DIR=/data, HEALTH_HOST=0.0.0.0)
    alone, and hold no quotes or trailing comments, which Docker would keep in the value."""
    (image_env,) = [step for step in instruction("ENV") if "DATA_DIR" in step]
    image_names = {pair.split("=")[0] for pair in image_env.split()}
    example = env_example()
    assert {"DATA_DIR", "HEALTH_HOST", "HEALTH_PORT"} <= image_names
    assert not image_names & set(example)
    for name, value in example.items():
        assert not re.search(r"[\"']|\s#", value), f"{name}={value}"


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


def test_the_image_with_the_example_env_keeps_its_data_and_health_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the bot reads in the container started with `docker run --env-file .env` and the
    example copied unchanged (but for a token): the image's ENV, then the file's lines."""
    (image_env,) = [step for step in instruction("ENV") if "DATA_DIR" in step]
    environment = dict(pair.split("=", 1) for pair in image_env.split() if "=" in pair)
    environment |= env_example() | {"MODELSCOPE_API_TOKEN": "ms-example"}
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    settings = load_settings()
    assert settings.data_dir == Path("/data")
    assert (settings.health_host, settings.health_port) == ("0.0.0.0", 8080)  # noqa: S104
