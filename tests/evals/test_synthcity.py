"""SynthCity: determinism, truth semantics, layers and georeferencing, splits, exports, the synth command."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from shapely.geometry import Polygon, box

from evals.synthcity import SPLITS, SynthSample, generate, generate_sample
from evals.synthcity.export import encode_sample, run_generation
from evals.synthcity.names import CLASS_PHRASES, FUNCTION_PHRASES, NameGenerator
from evals.synthcity.plan import make_plan
from evals.synthcity.render import render_labels
from evals.synthcity.sample import sample_plan
from evals.synthcity.splits import (
    HELD_OUT_CLASSES,
    HELD_OUT_MAP_STYLE,
    SYNTHCITY_CLASSES,
    TRAIN_MAP_STYLES,
    get_split,
)
from tests.fixtures.synthcity import synth_sample
from tools.errors import InputError
from tools.query import match_class, match_function
from tools.scene import load_scene_dir
from tools.taxonomy import FUNCTIONS

SMALL = 256


def _targets(s: SynthSample) -> list[dict]:
    return [i for i in s.instances if i["is_target"]]


# ------------------------------------------------------------------------------------------------ the sample


def test_sample_has_the_documented_shape():
    s = synth_sample(0, 0)
    assert s.sample_id == "test-0-00000" and s.split == "test" and s.scene.scene_id == s.sample_id
    assert s.scene.sat.shape == s.scene.map.shape == (SMALL, SMALL, 3)
    assert s.scene.sat.dtype == s.scene.map.dtype == np.uint8
    assert s.scene.truth.dtype == bool and s.scene.truth.shape == (SMALL, SMALL) and s.scene.truth.any()
    assert s.instance_labels.dtype == np.int32 and s.instance_labels.max() == len(s.instances)
    assert s.level in ("name", "class", "function") and s.query
    assert s.instance_ids == [i["id"] for i in _targets(s)]
    assert s.instance_names == [i["name"] for i in _targets(s)]
    meta = s.scene.meta
    for key in ("id", "split", "seed", "index", "level", "class", "function", "instance_ids", "instance_names",
                "query", "size", "gsd", "crs", "transform", "style"):  # fmt: skip
        assert key in meta
    assert meta["query"] == s.query and meta["instance_ids"] == s.instance_ids and meta["function"] in FUNCTIONS
    assert s.layers_geojson["type"] == "FeatureCollection" and "EPSG::326" in json.dumps(s.layers_geojson["crs"])


def test_same_seed_same_sample_and_different_seed_different_sample():
    a = generate_sample(3, 5, "val", SMALL)
    b = generate_sample(3, 5, "val", SMALL)
    assert np.array_equal(a.scene.sat, b.scene.sat) and np.array_equal(a.scene.map, b.scene.map)
    assert np.array_equal(a.instance_labels, b.instance_labels) and a.query == b.query
    assert a.layers_geojson == b.layers_geojson
    c = generate_sample(4, 5, "val", SMALL)
    d = generate_sample(3, 5, "test", SMALL)
    assert not np.array_equal(a.scene.sat, c.scene.sat) and not np.array_equal(a.scene.sat, d.scene.sat)


@pytest.mark.parametrize("index", range(6))
def test_masks_lie_inside_their_parcels(index):
    s = synth_sample(1, index)
    tile = box(0, 0, SMALL, SMALL)
    ys, xs = np.mgrid[0:SMALL, 0:SMALL] + 0.5
    for inst in s.instances:
        poly = Polygon(inst["polygon"])
        on = s.instance_labels == inst["label"]
        assert on.any()
        # every labelled pixel centre is within 1.5 px of the parcel outline (rasteriser rounding)
        assert shapely.contains_xy(poly.buffer(1.5), xs[on], ys[on]).all()
        # and the parcel's interior, one pixel in, is labelled
        inner = poly.buffer(-1.5).intersection(tile)
        if not inner.is_empty:
            p = inner.representative_point()
            assert s.instance_labels[int(p.y), int(p.x)] == inst["label"]
        x1, y1, x2, y2 = inst["bbox"]
        assert on[int(y1) : int(y2), int(x1) : int(x2)].sum() == on.sum()


def _drawn(polygon: list, size: int) -> np.ndarray:
    """Rasterise a layout polygon the way the truth is rasterised."""
    return render_labels([np.asarray(polygon, float)], size) > 0


def _assert_truth_is_what_the_query_names(s: SynthSample) -> None:
    """Check the truth against everything the layout drew (before any filtering), not against ``instances``.

    A place the query names is in the truth wherever it shows in the tile, a place it does not name nowhere;
    and no clutter parcel that serves the queried function shows at all (clutter is never truth).
    """
    truth = s.scene.truth
    size = truth.shape[0]
    assert s.placed and s.placed[0]["class"] in SYNTHCITY_CLASSES
    if s.level == "name":  # site 0 is the named place
        named = [_drawn(s.placed[0]["polygon"], size)]
        others = [_drawn(p["polygon"], size) for p in s.placed[1:]]
    else:
        key, value = ("class", s.target_class) if s.level == "class" else ("function", s.target_function)
        named = [_drawn(p["polygon"], size) for p in s.placed if p[key] == value]
        others = [_drawn(p["polygon"], size) for p in s.placed if p[key] != value]
    assert np.array_equal(np.logical_or.reduce(named), truth), (
        f"{s.sample_id}: a place of {s.query!r} drawn but not truth"
    )
    assert not any((m & truth).any() for m in others), f"{s.sample_id}: a place the query does not name is truth"
    if s.level == "function":
        for c in s.clutter:
            if c["function"] == s.target_function:
                assert not _drawn(c["polygon"], size).any(), (
                    f"{s.sample_id}: {s.query!r} names the {c['kind']} clutter that fills the tile, but it is not truth"
                )


@pytest.mark.parametrize("index", range(14))
def test_targets_follow_the_level_semantics(index):
    s = synth_sample(2, index)
    targets = _targets(s)
    assert targets, "a sample never has an empty target"
    if s.level == "name":
        assert len(targets) == 1 and targets[0]["name"] == s.query and s.instance_names == [s.query]
        # the named place has a POI with that name on the map layers
        assert any(f.kind == "poi" and f.name == s.query for f in s.scene.layers)
    elif s.level == "class":
        assert s.target_class is not None and match_class(s.query) == s.target_class
    else:
        assert match_function(s.query) == s.target_function
    _assert_truth_is_what_the_query_names(s)
    assert all(i["function"] == s.target_function for i in targets)


FUNCTION_LEVEL = [seed for seed in range(400) if sample_plan(seed, 0).level == "function"][:40]


def test_function_level_truth_holds_every_place_and_parcel_of_the_function():
    """Over a few dozen function-level samples: no place or clutter parcel of the function shows outside the truth."""
    assert len(FUNCTION_LEVEL) == 40
    functions = Counter()
    for seed in FUNCTION_LEVEL:
        s = generate_sample(seed, 0, "test", SMALL)
        assert s.level == "function"
        functions[s.target_function] += 1
        _assert_truth_is_what_the_query_names(s)
    assert set(functions) == set(get_split("test").target_functions)  # every function a query may name
    assert not {"residential", "commerce"} & set(functions)


@pytest.mark.parametrize("index", range(4))
def test_names_are_unique_within_a_scene(index):
    s = synth_sample(0, index)
    places = [i["name"] for i in s.instances]
    on_map = [f.name for f in s.scene.layers if f.name]  # POIs (places and shops) and roads
    assert len(places) == len(set(places)) and len(on_map) == len(set(on_map))
    assert {f.name for f in s.scene.layers if f.kind == "poi" and f.cls} <= set(places)


def test_names_rarely_collide_across_a_split():
    counts: Counter[str] = Counter()
    for i in range(300):
        g = NameGenerator(np.random.default_rng([5, i]))
        for cls in SYNTHCITY_CLASSES:
            counts[g.place(cls)] += 1
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates < 0.01 * sum(counts.values())


def test_query_phrases_resolve_with_the_taxonomy():
    for cls, phrases in CLASS_PHRASES.items():
        assert all(match_class(p) == cls for p in phrases), cls
    for fn, phrases in FUNCTION_PHRASES.items():
        assert phrases[0] == FUNCTIONS[fn].label
        assert all(match_function(p) == fn for p in phrases), fn


def test_layers_hand_over_points_and_fills_never_the_truth_outlines():
    for index in range(6):
        s = synth_sample(1, index)
        kinds = Counter(f.kind for f in s.scene.layers)
        assert kinds["road"] > 0 and kinds["poi"] > 0
        assert all(f.geometry.geom_type == "Point" for f in s.scene.layers if f.kind == "poi")
        assert all(
            f.geometry.geom_type in ("LineString", "MultiLineString") for f in s.scene.layers if f.kind == "road"
        )
        tile = box(0, 0, SMALL, SMALL)
        outlines = [Polygon(i["polygon"]).intersection(tile) for i in s.instances]
        for f in s.scene.layers:
            if f.kind == "landuse" and f.cls is not None:
                best = max(f.geometry.intersection(o).area / f.geometry.union(o).area for o in outlines)
                assert best < 0.995, "a land-use fill must not copy a site boundary"
            assert f.cls is None or f.cls in SYNTHCITY_CLASSES


def test_georeferencing_round_trips_pixels_through_the_crs():
    s = synth_sample(0, 1)
    g = s.scene.georef
    assert g is not None and g.crs.startswith("EPSG:326") and 32601 <= int(g.crs.split(":")[1]) <= 32660
    t = g.transform
    assert t.b == 0 and t.d == 0 and t.a == pytest.approx(0.6) and t.e == pytest.approx(-0.6)
    for x, y in [(0.0, 0.0), (12.5, 200.25), (SMALL, SMALL)]:
        e, n = g.to_crs(x, y)
        assert g.to_pixels(e, n) == pytest.approx((x, y), abs=1e-6)
    assert g.to_crs(0, 1)[1] < g.to_crs(0, 0)[1]  # north up
    assert s.scene.meta["transform"] == [t.a, t.b, t.c, t.d, t.e, t.f]


# ------------------------------------------------------------------------------------------------ the splits


def test_held_out_classes_never_appear_in_train_val_test():
    for split in ("train", "val", "test"):
        assert not set(HELD_OUT_CLASSES) & set(get_split(split).tile_classes)
        for index in range(5):
            s = synth_sample(9, index, split)
            assert not {i["class"] for i in s.instances} & set(HELD_OUT_CLASSES)
            assert not {f.cls for f in s.scene.layers} & set(HELD_OUT_CLASSES)
            assert s.scene.meta["style"] in TRAIN_MAP_STYLES and s.scene.meta["region"] == "temperate"


def test_ood_splits_change_one_thing_each():
    for index in range(5):
        oc = synth_sample(9, index, "ood-classes")
        assert _targets(oc) and all(i["class"] in HELD_OUT_CLASSES for i in _targets(oc))
        assert synth_sample(9, index, "ood-mapstyle").scene.meta["style"] == HELD_OUT_MAP_STYLE
        region = synth_sample(9, index, "ood-region").scene.meta
        assert region["region"] == "arid" and region["style"] in TRAIN_MAP_STYLES


def test_unknown_split_and_bad_arguments_raise_input_errors():
    with pytest.raises(InputError, match="ood-mapstyle"):
        generate_sample(0, 0, "holdout")
    with pytest.raises(InputError, match="size"):
        generate_sample(0, 0, "test", size=64)
    with pytest.raises(InputError, match="seed"):
        generate_sample(-1, 0, "test", size=SMALL)
    assert len(SPLITS) == 6


def test_level_proportions_follow_socioseg():
    levels: Counter[str] = Counter()
    multi = 0
    n = 2000
    spec = get_split("train")
    for i in range(n):
        plan = make_plan(np.random.default_rng(i), spec)
        levels[plan.level] += 1
        multi += len(plan.targets) > 1
    assert levels["name"] / n == pytest.approx(0.43, abs=0.04)
    assert levels["class"] / n == pytest.approx(0.39, abs=0.04)
    assert levels["function"] / n == pytest.approx(0.18, abs=0.03)
    assert 0.15 <= multi / n <= 0.30  # planned; layouts that cannot fit a second instance lower it slightly
    generated = Counter(synth_sample(4, i).level for i in range(40))
    assert all(generated[k] > 0 for k in ("name", "class", "function"))


# ------------------------------------------------------------------------------------------------ exports


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_export_is_byte_deterministic(tmp_path):
    a = generate(tmp_path / "a", "test", 2, seed=1, size=SMALL, progress=False)
    b = generate(tmp_path / "b", "test", 2, seed=1, size=SMALL, progress=False)
    da, db = _digest(a), _digest(b)
    assert da == db and len(da) == 2 * 8 + 2  # + test.parquet and test/settings.json
    c = generate(tmp_path / "c", "test", 2, seed=2, size=SMALL, progress=False)
    assert _digest(c)["test.parquet"] != da["test.parquet"]


def test_raw_export_reloads_with_load_scene_dir(tmp_path):
    root = generate(tmp_path, "test", 1, seed=0, size=SMALL, formats=("raw",), progress=False)
    s = synth_sample(0, 0)
    d = root / "test" / s.sample_id
    scene = load_scene_dir(d)
    assert np.array_equal(scene.sat, s.scene.sat) and np.array_equal(scene.map, s.scene.map)
    assert scene.georef == s.scene.georef
    assert [f.id for f in scene.layers] == [f.id for f in s.scene.layers]
    for got, want in zip(scene.layers, s.scene.layers, strict=True):
        assert (got.kind, got.name, got.cls, got.function) == (want.kind, want.name, want.cls, want.function)
        assert got.geometry.equals_exact(want.geometry, 1e-6)
    mask = np.asarray(Image.open(d / "mask.png"))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask > 0, s.scene.truth)
    assert json.loads((d / "question.json").read_text()) == {"problem": s.query}
    assert json.loads((d / "meta.json").read_text()) == s.scene.meta
    assert not (root / "test.parquet").exists()


def test_parquet_has_hf_columns_and_decodable_pngs(tmp_path):
    import pyarrow.parquet as pq

    root = generate(tmp_path, "test", 2, seed=0, size=SMALL, formats=("parquet",), progress=False)
    assert not (root / "test").exists()
    table = pq.read_table(root / "test.parquet")
    for col in ("id", "problem", "map_image", "sat_image", "mask_label", "level", "socio_class", "socio_function"):
        assert col in table.column_names
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == ["test-0-00000", "test-0-00001"]
    for i, row in enumerate(rows):
        s = synth_sample(0, i)
        assert row["problem"] == s.query and row["level"] == s.level and row["socio_function"] == s.target_function
        sat = np.asarray(Image.open(io.BytesIO(row["sat_image"]["bytes"])).convert("RGB"))
        mp = np.asarray(Image.open(io.BytesIO(row["map_image"]["bytes"])).convert("RGB"))
        mask = np.asarray(Image.open(io.BytesIO(row["mask_label"]["bytes"])).convert("L"))
        assert np.array_equal(sat, s.scene.sat) and np.array_equal(mp, s.scene.map)
        assert np.array_equal(mask > 0, s.scene.truth) and row["sat_image"]["path"].endswith("sat.png")
    assert b"huggingface" in table.schema.metadata


def test_rerun_skips_complete_samples_and_redoes_partial_ones(tmp_path):
    first = run_generation(tmp_path, "test", 2, seed=0, size=SMALL)
    assert (first.generated, first.skipped) == (2, 0)
    before = _digest(tmp_path)
    again = run_generation(tmp_path, "test", 2, seed=0, size=SMALL)
    assert (again.generated, again.skipped) == (0, 2) and _digest(tmp_path) == before
    broken = tmp_path / "test" / "test-0-00001"
    (broken / "sat.tif").unlink()  # as if interrupted mid-sample
    redo = run_generation(tmp_path, "test", 2, seed=0, size=SMALL, formats="raw,parquet")
    assert (redo.generated, redo.skipped) == (1, 1) and _digest(tmp_path) == before
    assert not [p for p in (tmp_path / "test").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    ("change", "needle"), [({"size": 160}, "size 160"), ({"gsd": 0.5}, "gsd 0.5"), ({"seed": 1}, "seed 1")]
)
def test_rerun_with_other_settings_into_the_same_folder_is_refused(tmp_path, change, needle):
    first = {"seed": 0, "size": 128, "gsd": 0.6}
    run_generation(tmp_path, "test", 1, formats="raw", **first)
    settings = json.loads((tmp_path / "test" / "settings.json").read_text())
    assert {k: settings[k] for k in first} == first and "generator" in settings
    before = _digest(tmp_path)
    with pytest.raises(InputError) as e:
        run_generation(tmp_path, "test", 2, formats="raw,parquet", **{**first, **change})
    msg = str(e.value)
    assert "seed 0, size 128, gsd 0.6" in msg and needle in msg and "new --out" in msg
    assert _digest(tmp_path) == before  # nothing written
    grown = run_generation(tmp_path, "test", 2, formats="raw", **first)  # the same settings may add samples
    assert (grown.generated, grown.skipped) == (1, 1)


def test_samples_without_settings_are_not_mixed_with_new_ones(tmp_path):
    run_generation(tmp_path, "test", 1, seed=0, size=128, formats="raw")
    (tmp_path / "test" / "settings.json").unlink()  # as written by a generator that kept no settings
    with pytest.raises(InputError, match=r"no settings\.json.*new --out"):
        run_generation(tmp_path, "test", 1, seed=0, size=128, formats="raw")


def test_generate_rejects_bad_formats_and_counts():
    with pytest.raises(InputError, match="raw"):
        generate("unused", "test", 1, formats=("zip",), progress=False)
    with pytest.raises(InputError, match="n must"):
        generate("unused", "test", 0, progress=False)


def test_encoded_files_match_the_sample():
    s = synth_sample(0, 2)
    files = encode_sample(s)
    assert set(files) == {"map.png", "sat.png", "mask.png", "question.json", "meta.json", "sat.tif", "georef.json",
                          "layers.geojson"}  # fmt: skip
    assert json.loads(files["georef.json"]) == {"crs": s.scene.georef.crs, "transform": s.scene.meta["transform"]}
    assert json.loads(files["layers.geojson"]) == s.layers_geojson


# ------------------------------------------------------------------------------------------------ the command


def test_synth_command_writes_and_summarises(tmp_path):
    from typer.testing import CliRunner

    from socioagent.cli import app

    args = ["synth", "--out", str(tmp_path), "--n", "2", "--size", "128", "--split", "ood-region"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "multi-instance" in result.output and "levels:" in result.output
    assert len([d for d in (tmp_path / "ood-region").iterdir() if d.is_dir()]) == 2
    assert (tmp_path / "ood-region" / "settings.json").is_file() and (tmp_path / "ood-region.parquet").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--split", "nope"], "ood-classes"), (["--n", "0"], "--n"), (["--size", "64"], "--size"),
     (["--formats", "tar"], "raw")],
)  # fmt: skip
def test_synth_command_rejects_bad_input(tmp_path, args, needle):
    from typer.testing import CliRunner

    from socioagent.cli import app

    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("flags", "kwargs", "needle"),
    [(["--split", "nope"], {"split": "nope"}, "unknown SynthCity split 'nope'"),
     (["--n", "0"], {"n": 0}, "--n must be at least 1, got 0"),
     (["--size", "64"], {"size": 64}, "--size must be at least 128 pixels, got 64"),
     (["--gsd", "9"], {"gsd": 9.0}, "--gsd must be between"),
     (["--seed", "-1"], {"seed": -1}, "--seed must be a non-negative integer")],
)  # fmt: skip
def test_synth_command_and_library_give_the_same_messages(tmp_path, flags, kwargs, needle):
    from typer.testing import CliRunner

    from socioagent.cli import app

    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), *flags])
    assert result.exit_code == 2, result.output
    args = {"split": "test", "n": 1, "seed": 0, "size": 128, "gsd": 0.6, **kwargs}
    with pytest.raises(InputError) as e:
        run_generation(tmp_path, args.pop("split"), args.pop("n"), **args)
    assert needle in str(e.value)
    assert " ".join(str(e.value).split()) in " ".join(result.output.split())


@pytest.mark.parametrize("size", [128, 256])
def test_small_tiles_generate_without_errors(size):
    """Sites can fall outside small tiles; their map points must be dropped, not crash (index 5 at 256 did)."""
    for i in range(12):
        s = generate_sample(seed=0, index=i, split="test", size=size)
        assert s.scene.truth.any() and all(not f.geometry.is_empty for f in s.scene.layers)
