"""Windows as Ray actors: a local Ray on 2 CPUs gives the same instances as the single-process run."""

from __future__ import annotations

import geopandas as gpd
import pytest

from agent.backends import BackendConfig
from agent.scene_search import SearchSpec, run_search
from agent.scene_window import default_vector_functions
from evals.synthcity.city_export import write_city
from tools.errors import InputError

FUNCTIONS = default_vector_functions()

pytest.importorskip("ray")


@pytest.mark.slow
def test_local_ray_on_two_cpus_gives_the_single_process_instances(tmp_path):
    write_city(tmp_path / "city", seed=2, size=1024)
    spec = SearchSpec(raster=tmp_path / "city" / "city.tif", vectors=tmp_path / "city" / "layers.gpkg",
                      query="parks", tile=320, overlap=64, outlines=False)  # fmt: skip
    one = run_search(spec, BackendConfig(), tmp_path / "single", vectors=FUNCTIONS)
    ray = run_search(spec, BackendConfig(), tmp_path / "ray", vectors=FUNCTIONS, ray=True, workers=2)
    assert one.summary["ran"] == ray.summary["ran"] >= 4 and 1 <= one.instances < one.summary["pieces"]  # a seam merged
    a = gpd.read_file(tmp_path / "single" / "instances.gpkg")
    b = gpd.read_file(tmp_path / "ray" / "instances.gpkg")
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert all(ga.equals_exact(gb, 0) for ga, gb in zip(a.geometry, b.geometry, strict=True))
    assert (tmp_path / "single" / "mask.tif").read_bytes() == (tmp_path / "ray" / "mask.tif").read_bytes()


def test_zero_workers_is_an_input_error(tmp_path):
    from agent.scene_ray import run_on_ray

    with pytest.raises(InputError, match="--workers must be at least 1"):
        run_on_ray(None, [], lambda r: None, workers=0)  # type: ignore[arg-type]


def test_gpus_are_actor_resources_only_for_torch_backends():
    from agent.scene_ray import uses_gpu

    assert not uses_gpu(BackendConfig())  # the offline default runs on CPUs: one actor per CPU
    assert uses_gpu(BackendConfig(segmenter="sam2:/m/sam2.1_hiera_tiny.pt"))
    assert not uses_gpu(BackendConfig(segmenter="sam2:/m/sam2.1_hiera_tiny.pt", device="cpu"))
