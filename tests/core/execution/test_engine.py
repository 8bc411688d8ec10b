from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import Fault, Simulator, Timing
from core.errors import TaskFailed
from core.execution.engine import Progress
from core.images.processing import read_png_text
from core.requests.params import GenerationParams, Size
from tests.conftest import make_engine

PARAMS = GenerationParams("Qwen/Qwen-Image", "一只红狐狸", Size(640, 480), seed=11, steps=30)


async def test_generate_keeps_the_image_with_its_parameters(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(queue_mean=0.05, run_mean=0.15)
    seen: list[Progress] = []

    async def record(progress: Progress) -> None:
        seen.append(progress)

    image = await make_engine(simulator, session, tmp_path).generate(PARAMS, record)
    assert image.path == tmp_path / f"gen_{image.task_id}.png"
    assert (image.info.width, image.info.height) == (640, 480)
    text = read_png_text(image.path.read_bytes())
    assert text["prompt"] == "一只红狐狸" and text["seed"] == "11"
    assert text["task_id"] == image.task_id
    assert seen[0].status == "SUBMITTED" and seen[-1].status == "SUCCEED"
    assert image.time_taken_ms == pytest.approx(150, rel=0.01)
    assert (simulator.stats.accepted, simulator.stats.downloads) == (1, 1)


async def test_finish_resumes_an_accepted_task_without_submitting(
    simulator, session, tmp_path: Path
) -> None:
    engine = make_engine(simulator, session, tmp_path)
    task = await engine.submit(PARAMS)
    image = await engine.finish(task.task_id, PARAMS)
    assert image.path.exists()
    assert simulator.stats.submits == 1


async def test_a_refusal_leaves_no_file(simulator, session, tmp_path: Path) -> None:
    simulator.faults.add(Fault("task", "fail", message="inappropriate content"))
    with pytest.raises(TaskFailed, match="inappropriate"):
        await make_engine(simulator, session, tmp_path).generate(PARAMS)
    assert not any(tmp_path.iterdir())
