"""`imagine-bot generate` end to end: a real subprocess against the simulator on loopback."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from bot.cli_inputs import read_image
from bot.simulator import Fault, Simulator, Timing
from core.errors import InvalidParameter
from core.images.processing import read_png_text
from core.modelscope.memory import INDEX, NAMESPACE
from core.stores.sqlite import SqliteStore
from tests.conftest import TOKEN

COMMAND = str(Path(sys.executable).with_name("imagine-bot"))
OUR_VARIABLES = ("MODELSCOPE_", "TELEGRAM_", "DISCORD_", "DATA_DIR", "STORE_URL", "BOT_", "LOG_")


@dataclass
class Run:
    code: int
    out: str
    err: str


async def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OUR_VARIABLES)}
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        *args,
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=45)
    return Run(process.returncode or 0, out.decode(), err.decode())


@pytest.fixture
async def sim() -> Simulator:  # type: ignore[misc]
    async with Simulator(frozenset({TOKEN}), Timing(queue_mean=0.05, run_mean=0.2)) as server:
        yield server


def sim_env(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MODELSCOPE_API_TOKEN": TOKEN,
        "MODELSCOPE_INFER_BASE": sim.base_url,
        "MODELSCOPE_OPENAPI_BASE": f"{sim.base_url}openapi/v1/",
        "MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS": "http://127.0.0.1:*",
        "MODELSCOPE_IMAGE_POLL_INTERVAL": "0.05",
        "DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


async def test_simulate_needs_no_token(tmp_path: Path) -> None:
    run = await cli(
        "generate",
        "a lighthouse at dusk",
        "--simulate",
        "--count",
        "2",
        "--out",
        "pics",
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    paths = [Path(line) for line in run.out.splitlines()]
    assert len(paths) == 2 and all((tmp_path / p).exists() for p in paths)
    assert "simulator" in run.err and "generating" in run.err
    assert "2 of 2 image(s) generated." in run.err


async def test_simulate_knows_the_operators_models(tmp_path: Path) -> None:
    catalog = tmp_path / "models.json"
    model = {"id": "acme/painter", "name": "Painter", "family": "sd", "aliases": ["painter"]}
    catalog.write_text(json.dumps({"models": [model]}))
    run = await cli(
        "generate",
        "a lighthouse at dusk",
        "--simulate",
        "--model",
        "painter",
        "--out",
        "pics",
        cwd=tmp_path,
        env={"MODEL_CATALOG_FILE": str(catalog)},
    )
    assert run.code == 0, run.err
    assert "1 of 1 image(s) generated." in run.err


async def test_a_full_run_with_every_parameter(sim: Simulator, tmp_path: Path) -> None:
    loras = tmp_path / "lora-configs.json"
    loras.write_text(json.dumps({"loras": {"someone/ink": 0.7}}))
    run = await cli(
        "generate",
        "a paper crane",
        "--model",
        "flux",
        "--negative",
        "blurry",
        "--size",
        "768x512",
        "--seed",
        "42",
        "--steps",
        "20",
        "--guidance",
        "5",
        "--lora",
        "someone/paper:0.3",
        "--loras-file",
        str(loras),
        cwd=tmp_path,
        env=sim_env(sim, tmp_path),
    )
    assert run.code == 0, run.err
    (task,) = sim.tasks.values()
    assert task.body == {
        "model": "black-forest-labs/FLUX.1-Krea-dev",
        "prompt": "a paper crane",
        "negative_prompt": "blurry",
        "size": "768x512",
        "seed": 42,
        "steps": 20,
        "guidance": 5.0,
        "loras": {"someone/paper": 0.3, "someone/ink": 0.7},
    }
    saved = Path(run.out.strip())
    assert saved == tmp_path / "data/cache/outputs/images" / f"gen_{task.task_id}.png"
    assert read_png_text(saved.read_bytes())["negative_prompt"] == "blurry"
    for status in ("submitted", "generating", "done"):
        assert status in run.err


async def test_run_times_are_kept_for_the_next_run_and_the_bot(
    sim: Simulator, tmp_path: Path
) -> None:
    """What `generate` learns goes to the store the bot uses, and the next `generate` starts
    from it (its own samples are added to the earlier ones, not put in their place)."""
    batch = tmp_path / "prompts.txt"
    batch.write_text("a red kite\na blue boat\na green hill\n")
    counts = []
    for _ in range(2):
        run = await cli("generate", "--batch", str(batch), cwd=tmp_path, env=sim_env(sim, tmp_path))
        assert run.code == 0, run.err
        store = await SqliteStore.open(tmp_path / "data" / "imagine.db")
        try:
            index = await store.get_setting(NAMESPACE, INDEX)
            assert index is not None
            (workload,) = index["workloads"]
            learned = await store.get_setting(NAMESPACE, workload)
        finally:
            await store.close()
        assert learned is not None
        counts.append(len(learned["samples"]))
    assert counts == [3, 6]


async def test_simulated_runs_teach_the_store_nothing(tmp_path: Path) -> None:
    run = await cli("generate", "--simulate", "a cat", cwd=tmp_path, env={"DATA_DIR": "data"})
    assert run.code == 0, run.err
    assert not (tmp_path / "data" / "imagine.db").exists()


async def test_batch_file_runs_every_prompt(sim: Simulator, tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# my prompts\na red kite\n\na blue boat\na green hill\n")
    run = await cli(
        "generate", "--batch", str(batch), "--seed", "1", cwd=tmp_path, env=sim_env(sim, tmp_path)
    )
    assert run.code == 0, run.err
    assert len(run.out.splitlines()) == 3
    assert [t.body["prompt"] for t in sim.tasks.values()] == [
        "a red kite",
        "a blue boat",
        "a green hill",
    ]
    assert sim.stats.accepted == 3


async def test_a_local_image_travels_as_a_data_uri(sim: Simulator, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, "PNG")
    (tmp_path / "in.png").write_bytes(buffer.getvalue())
    run = await cli(
        "generate", "make it blue", "--image", "in.png", cwd=tmp_path, env=sim_env(sim, tmp_path)
    )
    assert run.code == 0, run.err
    (task,) = sim.tasks.values()
    assert task.body["model"] == "Qwen/Qwen-Image-Edit"
    assert task.body["image_url"].startswith("data:image/png;base64,iVBOR")


async def test_a_refusal_prints_the_services_message(sim: Simulator, tmp_path: Path) -> None:
    sim.faults.add(Fault("task", "fail", message="Output data may contain inappropriate content."))
    run = await cli("generate", "something", cwd=tmp_path, env=sim_env(sim, tmp_path))
    assert run.code == 1
    assert "Output data may contain inappropriate content." in run.err
    assert run.out == ""


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--size", "4000x4000"], "size"),
        (["--steps", "0"], "steps"),
        (["--guidance", "99"], "guidance"),
        (["--model", "dall-e"], "model"),
        (["--count", "9"], "count"),
        (["--lora", "a/b:0.5", "--lora", "c/d:0.1"], "lora weight"),
        (["--image", "missing.png"], "image"),
    ],
)
async def test_invalid_input_sends_nothing(sim: Simulator, tmp_path: Path, args, field) -> None:
    run = await cli("generate", "a cat", *args, cwd=tmp_path, env=sim_env(sim, tmp_path))
    assert run.code == 2
    assert f"Invalid {field}:" in run.err and "Allowed:" in run.err
    assert sim.stats.submits == 0


async def test_messages_in_chinese(sim: Simulator, tmp_path: Path) -> None:
    run = await cli(
        "generate",
        "a cat",
        "--steps",
        "0",
        "--lang",
        "zh",
        cwd=tmp_path,
        env=sim_env(sim, tmp_path),
    )
    assert run.code == 2 and "参数 steps 无效" in run.err


@pytest.mark.parametrize("command", ["generate", "enqueue"])
async def test_an_unknown_language_is_refused_with_the_known_ones(
    sim: Simulator, tmp_path: Path, command: str
) -> None:
    run = await cli(command, "a cat", "--lang", "fr", cwd=tmp_path, env=sim_env(sim, tmp_path))
    assert run.code == 2 and "Invalid lang: fr. Allowed: en, zh." in run.err, run.err
    assert sim.stats.submits == 0


async def test_a_missing_token_is_explained(tmp_path: Path) -> None:
    run = await cli("generate", "a cat", cwd=tmp_path)
    assert run.code == 3 and "MODELSCOPE_API_TOKEN is not set" in run.err


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "cannot write to its data folder"), ("zh", "无法写入数据文件夹")]
)
async def test_a_data_dir_it_cannot_write_is_said_before_anything_is_made(
    sim: Simulator, tmp_path: Path, lang: str, words: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = sim_env(sim, tmp_path, DATA_DIR=str(blocker / "data"))
    run = await cli("generate", "a cat", "--lang", lang, cwd=tmp_path, env=env)
    assert run.code == 3, run.err
    assert words in run.err and "DATA_DIR" in run.err and "Traceback" not in run.err
    assert sim.stats.submits == 0


async def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    run = await cli("generate", "a cat", cwd=tmp_path, env={"MODELSCOPE_IMAGE_POLL_INTERVAL": "-2"})
    assert run.code == 3
    assert "MODELSCOPE_IMAGE_POLL_INTERVAL" in run.err and "-2" in run.err


async def test_a_rejected_token_stops_with_advice_and_never_leaks(sim, tmp_path: Path) -> None:
    env = sim_env(sim, tmp_path, MODELSCOPE_API_TOKEN="ms-not-a-valid-token-1234")
    run = await cli("generate", "a cat", cwd=tmp_path, env=env)
    assert run.code == 3
    assert "MODELSCOPE_API_TOKEN" in run.err
    assert "ms-not-a-valid-token-1234" not in run.out + run.err
    assert sim.stats.submits == 1


async def test_two_tokens_share_the_work(sim: Simulator, tmp_path: Path) -> None:
    sim.tokens = frozenset({TOKEN, "ms-second-token"})
    env = sim_env(sim, tmp_path, MODELSCOPE_API_TOKEN=f"{TOKEN},ms-second-token")
    run = await cli("generate", "a cat", "--count", "4", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    per_token = sim.stats.submits_by_token.values()
    assert len(per_token) == 2 and min(per_token) >= 1 and sum(per_token) == 4
    assert TOKEN not in run.err


async def test_the_example_files_run(sim: Simulator, tmp_path: Path) -> None:
    examples = Path(__file__).parents[2] / "examples"
    run = await cli(
        "generate",
        "--batch",
        str(examples / "batch-prompts.txt"),
        "--model",
        "flux",
        "--loras-file",
        str(examples / "lora-configs.json"),
        cwd=tmp_path,
        env=sim_env(sim, tmp_path),
    )
    assert run.code == 0, run.err
    assert len(run.out.splitlines()) == 3
    assert {json.dumps(t.body["loras"], sort_keys=True) for t in sim.tasks.values()} == {
        '{"owner/ink-outline-lora": 0.4, "owner/watercolor-flux-lora": 0.6}'
    }


async def test_the_simulator_command_serves_until_terminated(tmp_path: Path, session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "simulator",
        "--port",
        str(port),
        "--run-mean",
        "0.1",
        "--queue-mean",
        "0",
        stdout=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    banner = await asyncio.wait_for(process.stdout.readline(), timeout=20)
    assert f"127.0.0.1:{port}" in banner.decode()
    headers = {"Authorization": "Bearer ms-any", "X-ModelScope-Async-Mode": "true"}
    body = {"model": "Qwen/Qwen-Image", "prompt": "x"}
    url = f"http://127.0.0.1:{port}/v1/images/generations"
    async with session.post(url, json=body, headers=headers) as r:
        assert r.status == 200 and "task_id" in await r.json()
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=20) == 0


def test_an_endless_input_image_is_read_only_up_to_the_cap() -> None:
    with pytest.raises(InvalidParameter) as refused:
        read_image("/dev/zero")  # 2.7 GB, then MemoryError, before the cap
    assert (refused.value.field, str(refused.value.allowed)) == ("image", "image_size")


ENQUEUE_AND_LIST_CLIENTS = (
    "import sys; from bot.cli import main; code = main(['enqueue', 'a cat']); "
    "clients = ('aiohttp', 'telegram', 'discord', 'redis'); "
    "print(code, sorted(m for m in clients if m in sys.modules))"
)


async def test_enqueue_loads_no_http_client_and_no_chat_sdk(tmp_path: Path) -> None:
    """`enqueue` only lines a request up: it starts quickly because it imports neither an
    HTTP client nor a chat platform's SDK (bench 9 times it)."""
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "MODELSCOPE_API_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ENQUEUE_AND_LIST_CLIENTS,
        cwd=tmp_path,
        env={
            k: v for k, v in env.items() if not k.startswith(("STORE_URL", "TELEGRAM_", "DISCORD_"))
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=45)
    assert out.decode().strip().splitlines()[-1] == "0 []", err.decode()
