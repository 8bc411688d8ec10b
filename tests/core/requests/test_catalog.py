from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.requests.catalog import BUILTIN_MODELS, load_catalog


def test_builtin_models_cover_each_family_with_the_documented_sides() -> None:
    catalog = load_catalog()
    sides = {m.family: (m.min_side, m.max_side) for m in catalog.models}
    assert sides == {
        "z-image": (512, 2048),
        "qwen-image": (64, 1664),
        "flux": (64, 1024),
        "sd": (64, 2048),
    }
    assert catalog.default_model.id == "Tongyi-MAI/Z-Image-Turbo"
    assert {m.id for m in catalog.editors()} == {
        "Qwen/Qwen-Image-Edit",
        "black-forest-labs/FLUX.1-Kontext-dev",
    }


@pytest.mark.parametrize("name", ["Qwen/Qwen-Image", "qwen", "QWEN-IMAGE", " Qwen-Image "])
def test_models_are_found_by_id_name_or_alias(name: str) -> None:
    model = load_catalog().find_model(name)
    assert model is not None and model.id == "Qwen/Qwen-Image"


def test_every_default_is_within_its_models_range() -> None:
    for model in BUILTIN_MODELS:
        size = model.default_size_value
        assert model.min_side <= min(size.width, size.height)
        assert max(size.width, size.height) <= model.max_side


def test_a_file_adds_and_replaces_entries(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            {
                "default_model": "my/flux-lite",
                "models": [
                    {
                        "id": "my/flux-lite",
                        "name": "Flux Lite",
                        "family": "flux",
                        "aliases": ["lite"],
                        "cost": 0.5,
                    },
                    {
                        "id": "Qwen/Qwen-Image",
                        "name": "Qwen-Image",
                        "family": "qwen-image",
                        "cost": 3,
                    },
                ],
                "loras": [{"id": "someone/watercolor", "name": "Watercolor", "families": ["flux"]}],
            }
        )
    )
    catalog = load_catalog(path)
    assert catalog.default_model.id == "my/flux-lite"
    assert catalog.find_model("lite") is not None
    assert catalog.find_model("qwen") is None  # the replacement has no alias "qwen"
    assert catalog.find_model("Qwen/Qwen-Image").cost == 3  # type: ignore[union-attr]
    assert catalog.find_lora("watercolor").id == "someone/watercolor"  # type: ignore[union-attr]
    assert len(catalog.models) == len(BUILTIN_MODELS) + 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not JSON"),
        ('{"models": [{"id": "a/b", "name": "x", "family": "flux", "cost": -1}]}', "models.0.cost"),
        ('{"loras": [{"id": "no-slash"}]}', "loras.0.id"),
        ('{"default_model": "nope/nope"}', "not in the catalog"),
        ('{"surprise": 1}', "surprise"),
    ],
)
def test_a_bad_file_names_what_is_wrong(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=expected):
        load_catalog(path)


def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MODEL_CATALOG_FILE"):
        load_catalog(tmp_path / "missing.json")


def test_the_example_catalog_file_loads() -> None:
    catalog = load_catalog(Path(__file__).parents[3] / "examples" / "catalog.json")
    assert catalog.find_model("flux-dev") is not None
    assert catalog.find_lora("watercolor") is not None
