"""SAM 2 behind the Segmenter protocol, with random tiny weights: shapes, encode bookkeeping, model errors.

The weights are random, so no test here looks at what the masks cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.tiny_sam2 import build_tiny_sam2, random_image, tiny_sam2
from tools.errors import InputError
from tools.schemas import Box, InstancePrompt, Point
from tools.segmenters import Segmenter, SegmentResult, make_segmenter
from tools.segmenters.sam2_backend import SAM2_MODELS, Sam2Segmenter, resolve_sam2, sam2_config_for

__all__ = ["tiny_sam2"]  # the fixture, re-exported so pytest finds it

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")

H, W = 200, 240


def box(x1: float, y1: float, x2: float, y2: float, *points: tuple[float, float, int]) -> InstancePrompt:
    return InstancePrompt(
        box=Box(x1=x1, y1=y1, x2=x2, y2=y2), points=[Point(x=x, y=y, label=lab) for x, y, lab in points]
    )


def check(res: SegmentResult, n: int) -> None:
    assert res.masks.shape == (n, H, W) and res.masks.dtype == bool
    assert res.scores.shape == (n,) and res.scores.dtype == np.float32
    assert np.all((res.scores >= 0) & (res.scores <= 1))
    assert res.sources == ["model"] * n


def test_it_is_a_protocol_segmenter_on_the_cpu(tiny_sam2: Sam2Segmenter) -> None:
    assert isinstance(tiny_sam2, Segmenter)
    assert tiny_sam2.device == "cpu"
    assert tiny_sam2.name == "sam2:random:tiny"


def test_predict_before_set_scene_raises() -> None:
    seg = build_tiny_sam2()
    with pytest.raises(RuntimeError, match=r"call set_scene\(\.\.\.\) first"):
        seg.predict([box(0, 0, 10, 10)])
    assert seg.encode_count == 0


@pytest.mark.parametrize(
    "prompts",
    [
        [box(10, 20, 120, 150)],
        [box(10, 20, 120, 150, (50, 60, 1))],
        [box(10, 20, 120, 150), box(100, 30, 230, 190), box(-30, -30, 60, 50), box(0, 0, 240, 200)],
        [box(10, 20, 120, 150, (50, 60, 1), (20, 30, 0)), box(100, 30, 230, 190), box(5, 5, 50, 50, (9, 9, 0))],
    ],
    ids=["one-box", "one-box-one-point", "four-boxes", "mixed-point-counts"],
)
def test_shapes_and_dtypes(tiny_sam2: Sam2Segmenter, prompts: list[InstancePrompt]) -> None:
    tiny_sam2.set_scene("shapes", random_image(0, H, W))
    check(tiny_sam2.predict(prompts), len(prompts))


def test_each_box_gets_its_own_answer_in_a_batch(tiny_sam2: Sam2Segmenter) -> None:
    # Prompts with the same number of points are not padded, so batching must not change their answers.
    tiny_sam2.set_scene("shapes", random_image(0, H, W))
    a, b = box(10, 20, 120, 150, (50, 60, 1)), box(100, 30, 230, 190, (150, 100, 0))
    alone = tiny_sam2.predict([a])
    both = tiny_sam2.predict([a, b])
    swapped = tiny_sam2.predict([b, a])
    np.testing.assert_array_equal(alone.masks[0], both.masks[0])
    np.testing.assert_array_equal(both.masks[0], swapped.masks[1])
    np.testing.assert_array_equal(both.masks[1], swapped.masks[0])
    np.testing.assert_allclose(both.scores, swapped.scores[::-1], atol=1e-5)
    assert not np.array_equal(both.masks[0], both.masks[1])


def test_empty_prompt_list(tiny_sam2: Sam2Segmenter) -> None:
    tiny_sam2.set_scene("shapes", random_image(0, H, W))
    res = tiny_sam2.predict([])
    assert res.masks.shape == (0, H, W) and res.scores.shape == (0,) and res.sources == []


def test_one_encode_per_scene_across_both_stages(tiny_sam2: Sam2Segmenter) -> None:
    before = tiny_sam2.encode_count
    image = random_image(1, H, W)
    tiny_sam2.set_scene("query-1", image)
    stage1 = tiny_sam2.predict([box(10, 20, 120, 150), box(100, 30, 230, 190)])
    tiny_sam2.set_scene("query-1", image)
    stage2 = tiny_sam2.predict([box(12, 22, 118, 148, (60, 80, 1), (15, 25, 0))])
    check(stage1, 2)
    check(stage2, 1)
    assert tiny_sam2.encode_count == before + 1


def test_alternating_scenes_reuses_cached_features(tiny_sam2: Sam2Segmenter, monkeypatch: pytest.MonkeyPatch) -> None:
    seg = tiny_sam2
    monkeypatch.setattr(seg, "cache_size", 2)
    start = seg.encode_count
    a, b, c = (random_image(s, H, W) for s in (2, 3, 4))
    seg.set_scene("a", a)
    first_a = seg.predict([box(10, 20, 120, 150)])
    seg.set_scene("b", b)
    seg.set_scene("a", a)
    again_a = seg.predict([box(10, 20, 120, 150)])
    seg.set_scene("b", b)
    assert seg.encode_count == start + 2
    np.testing.assert_array_equal(first_a.masks, again_a.masks)
    np.testing.assert_array_equal(first_a.scores, again_a.scores)
    seg.set_scene("c", c)  # evicts a, the least recently used
    seg.set_scene("b", b)
    assert seg.encode_count == start + 3
    seg.set_scene("a", a)
    assert seg.encode_count == start + 4


def test_a_scene_of_another_size_answers_in_its_own_pixels(tiny_sam2: Sam2Segmenter) -> None:
    seg = tiny_sam2
    seg.set_scene("wide", random_image(5, 100, 300))
    seg.set_scene("tall", random_image(6, 300, 120))
    seg.set_scene("wide", random_image(5, 100, 300))
    assert seg.predict([box(0, 0, 50, 50)]).masks.shape == (1, 100, 300)


def test_missing_checkpoint_path_names_the_fix() -> None:
    with pytest.raises(InputError, match=r"does not exist.*socio models pull"):
        make_segmenter("sam2:/nonexistent.pt")


def test_unpulled_hub_id_names_the_pull_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"socio models pull facebook/sam2\.1-hiera-tiny"):
        make_segmenter("sam2:facebook/sam2.1-hiera-tiny")
    assert not any(tmp_path.rglob("*.pt"))


def test_unknown_hub_id_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="facebook/sam2-hiera-large"):
        make_segmenter("sam2:someone/not-a-sam")


def test_no_model_and_bad_options_raise_input_error() -> None:
    with pytest.raises(InputError, match="needs --checkpoint"):
        make_segmenter("sam2")
    with pytest.raises(InputError, match="random:tiny"):
        make_segmenter("sam2:random:huge")
    with pytest.raises(InputError, match="device"):
        Sam2Segmenter("random:tiny", device="tpu")
    with pytest.raises(InputError, match="multiple of 32"):
        Sam2Segmenter("random:tiny", image_size=250)
    with pytest.raises(InputError, match="cache_size"):
        Sam2Segmenter("random:tiny", cache_size=0)


def test_pulled_hub_id_resolves_offline_to_its_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lay out the registry exactly as huggingface_hub's cache does, with an empty stand-in checkpoint file.
    monkeypatch.setenv("SOCIO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "models--facebook--sam2-hiera-large"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "sam2_hiera_large.pt").write_bytes(b"")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    config, ckpt = resolve_sam2("facebook/sam2-hiera-large")
    assert config == "configs/sam2/sam2_hiera_l.yaml"
    assert ckpt == str(snapshot / "sam2_hiera_large.pt")


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("sam2.1_hiera_tiny.pt", "configs/sam2.1/sam2.1_hiera_t.yaml"),
        ("sam2.1_hiera_base_plus.pt", "configs/sam2.1/sam2.1_hiera_b+.yaml"),
        ("sam2_hiera_large.pt", "configs/sam2/sam2_hiera_l.yaml"),
        ("/ckpts/sam2_hiera_small.pt", "configs/sam2/sam2_hiera_s.yaml"),
    ],
)
def test_config_is_inferred_from_the_checkpoint_name(name: str, config: str) -> None:
    assert sam2_config_for(name) == config


def test_uninferable_checkpoint_name_asks_for_a_config(tmp_path: Path) -> None:
    ckpt = tmp_path / "my_finetune.pt"
    ckpt.write_bytes(b"")
    with pytest.raises(InputError, match="config="):
        resolve_sam2(str(ckpt))
    assert resolve_sam2(str(ckpt), config="configs/sam2.1/sam2.1_hiera_s.yaml") == (
        "configs/sam2.1/sam2.1_hiera_s.yaml",
        str(ckpt),
    )


def test_every_known_hub_id_maps_to_a_shipped_config() -> None:
    import sam2

    root = Path(sam2.__file__).parent
    for config, filename in SAM2_MODELS.values():
        assert (root / config).is_file(), config
        assert sam2_config_for(filename) == config


def test_a_checkpoint_that_does_not_match_its_config_is_an_input_error(tmp_path: Path) -> None:
    import torch

    ckpt = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": {"not_a_sam_weight": torch.zeros(1)}}, ckpt)
    with pytest.raises(InputError, match="matches the config"):
        Sam2Segmenter(str(ckpt), device="cpu", image_size=256)


def test_an_unknown_config_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"bad SAM 2 config 'configs/nope\.yaml'.*sam2\.1_hiera_t\.yaml"):
        Sam2Segmenter("random:tiny", config="configs/nope.yaml", device="cpu")


def test_cpu_inference_leaves_ieee_subnormals_alone(tiny_sam2):
    """Flushing denormals is processor-wide state: it must not outlive a SAM 2 call."""
    import sys

    from tools.schemas import Box, InstancePrompt

    tiny = np.float64(sys.float_info.min) / 2**10
    tiny_sam2.set_scene("subnormal-check", random_image(9, 64, 64))
    tiny_sam2.predict([InstancePrompt(box=Box(x1=4, y1=4, x2=40, y2=40))])
    assert tiny * 1.0 != 0.0
