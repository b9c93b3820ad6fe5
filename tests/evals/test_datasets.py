import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from evals.datasets import make_dataset
from tests.fixtures.socioseg_data import LEVELS, QUERIES, damage_row_group, make_arrays, write_parquet, write_raw
from tools.errors import DatasetNotFoundError, InputError


@pytest.fixture
def raw(tmp_path):
    return write_raw(tmp_path / "raw", n=3)


# ----------------------------------------------------------------------------------------------- raw folders


def test_raw_lists_samples_in_sorted_order_with_inferred_levels(raw):
    ds = make_dataset(f"socioseg:{raw}")
    assert len(ds) == 3
    assert ds.ids() == ["s000", "s001", "s002"]
    assert [s.query for s in ds] == list(QUERIES)
    assert [s.level for s in ds] == list(LEVELS)
    assert {s.level_source for s in ds} == {"inferred"}
    assert ds.level_counts() == {"sidecar": 0, "inferred": 3, "unknown": 0}
    assert ds.format == "raw"


def test_bare_path_means_socioseg(raw):
    assert make_dataset(str(raw)).ids() == make_dataset(f"socioseg:{raw}").ids()


def test_raw_scene_has_truth_from_mask(raw):
    sample = make_dataset(f"socioseg:{raw}").get("s001")
    scene = sample.load_scene()
    sat, map_img, mask = make_arrays(1)
    assert scene.scene_id == "s001"
    assert np.array_equal(scene.sat, sat)
    assert np.array_equal(scene.map, map_img)
    assert scene.truth.dtype == bool
    assert np.array_equal(scene.truth, mask > 0)
    assert scene.georef is None and scene.layers == []


def test_sidecar_level_wins_over_inference(raw):
    (raw / "test" / "s000" / "meta.json").write_text(
        json.dumps({"id": "s000", "level": "class", "class": "zoo", "function": "recreation"})
    )
    s = make_dataset(str(raw)).get("s000")
    assert (s.level, s.level_source, s.level_reason) == ("class", "sidecar", "meta.json")
    assert (s.socio_class, s.socio_function) == ("zoo", "recreation")


def test_unknown_level_when_the_query_is_unclear(raw):
    (raw / "test" / "s002" / "question.json").write_text(json.dumps({"problem": "Xinhua"}))
    s = make_dataset(str(raw)).get("s002")
    assert (s.level, s.level_source) == ("unknown", "unknown")
    assert make_dataset(str(raw)).level_counts() == {"sidecar": 0, "inferred": 2, "unknown": 1}


def test_missing_question_json_is_reported_with_its_path(raw):
    q = raw / "test" / "s001" / "question.json"
    q.unlink()
    ds = make_dataset(str(raw))
    assert len(ds) == 3  # still listed, so the runner can record it
    s = ds.get("s001")
    assert str(q) in s.error
    with pytest.raises(InputError, match=r"question\.json is missing"):
        s.load_scene()


def test_invalid_question_json_is_reported(raw):
    q = raw / "test" / "s000" / "question.json"
    q.write_text('{"query": "wrong key"}')
    with pytest.raises(InputError, match="problem"):
        make_dataset(str(raw)).get("s000").load_scene()


def test_corrupt_image_is_found_at_load_time_and_named(raw):
    sat = raw / "test" / "s002" / "sat.png"
    sat.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    ds = make_dataset(str(raw))  # listing does not decode images
    assert ds.get("s002").error is None
    with pytest.raises(InputError) as e:
        ds.get("s002").load_scene()
    assert str(sat) in str(e.value) and "re-export" in str(e.value)
    assert ds.get("s000").load_scene().truth is not None


def test_missing_mask_is_named(raw):
    (raw / "test" / "s000" / "mask.png").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"mask\.png is missing"):
        make_dataset(str(raw)).get("s000").load_scene()


def test_mask_of_another_size_is_refused(raw):
    from PIL import Image

    Image.fromarray(np.zeros((10, 12), np.uint8)).save(raw / "test" / "s000" / "mask.png")
    with pytest.raises(InputError, match="sizes differ"):
        make_dataset(str(raw)).get("s000").load_scene()


def test_missing_root_and_split_name_the_fix(tmp_path, raw):
    with pytest.raises(DatasetNotFoundError, match="does not exist") as e:
        make_dataset(f"synth:{tmp_path / 'nope'}")
    assert "evals.synthcity.generate" in str(e.value)
    with pytest.raises(DatasetNotFoundError, match="found splits: test; pass --split NAME"):
        make_dataset(str(raw), split="val")


def test_unknown_spec_prefix_is_refused(raw):
    with pytest.raises(InputError, match="unknown dataset spec"):
        make_dataset(f"kaggle:{raw}")


def test_georef_and_layers_are_read_when_present(raw):
    d = raw / "test" / "s000"
    (d / "georef.json").write_text(json.dumps({"crs": "EPSG:32650", "transform": [0.5, 0, 500000, 0, -0.5, 4e6]}))
    scene = make_dataset(str(raw)).get("s000").load_scene()
    assert scene.georef is not None and scene.georef.crs == "EPSG:32650"

    d = raw / "test" / "s001"
    poly = {"type": "Polygon", "coordinates": [[[2, 2], [20, 2], [20, 20], [2, 20], [2, 2]]]}
    props = {"name": "Maple Primary School", "class": "school", "kind": "landuse"}
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": props, "geometry": poly}]}
    (d / "layers.geojson").write_text(json.dumps(doc))
    scene = make_dataset(str(raw)).get("s001").load_scene()
    assert [(f.name, f.cls) for f in scene.layers] == [("Maple Primary School", "school")]


def test_samples_pickle_for_worker_processes(raw):
    s = make_dataset(str(raw)).get("s001")
    s2 = pickle.loads(pickle.dumps(s))
    assert s2 == s
    assert np.array_equal(s2.load_scene().truth, s.load_scene().truth)


# ----------------------------------------------------------------------------------------------- parquet


def test_parquet_file_matches_the_raw_folder(tmp_path, raw):
    pq_file = write_parquet(tmp_path / "one.parquet", n=3)
    ds = make_dataset(str(pq_file))
    assert ds.format == "parquet"
    assert ds.ids() == ["s000", "s001", "s002"]
    assert [s.level for s in ds] == list(LEVELS)
    raw_ds = make_dataset(str(raw))
    for a, b in zip(ds, raw_ds, strict=True):
        sa, sb = a.load_scene(), b.load_scene()
        assert np.array_equal(sa.sat, sb.sat) and np.array_equal(sa.map, sb.map)
        assert np.array_equal(sa.truth, sb.truth)


def test_hf_layout_and_split_file(tmp_path):
    write_parquet(tmp_path / "hub" / "data" / "test-00000-of-00001.parquet", n=3)
    assert make_dataset(f"socioseg:{tmp_path / 'hub'}").ids() == ["s000", "s001", "s002"]
    write_parquet(tmp_path / "hf" / "data" / "test-00000-of-00002.parquet", n=2)
    write_parquet(tmp_path / "hf" / "data" / "test-00001-of-00002.parquet", n=3, seed=5)
    with pytest.raises(InputError, match="duplicate sample ids"):
        make_dataset(f"socioseg:{tmp_path / 'hf'}")
    write_parquet(tmp_path / "flat" / "val.parquet", n=2)
    assert make_dataset(f"socioseg:{tmp_path / 'flat'}", split="val").ids() == ["s000", "s001"]
    with pytest.raises(DatasetNotFoundError, match="found splits: val"):
        make_dataset(f"socioseg:{tmp_path / 'flat'}")


def test_parquet_iterates_by_id_and_loads_in_storage_order(tmp_path):
    f = write_parquet(tmp_path / "test.parquet", n=5, shuffle=True, row_group_size=2)
    ds = make_dataset(str(tmp_path))
    assert ds.ids() == [f"s{i:03d}" for i in range(5)]
    assert [s.id for s in ds.storage_order()] == [f"s{i:03d}" for i in reversed(range(5))]
    for s in ds:
        assert np.array_equal(s.load_scene().truth, make_arrays(int(s.id[1:]))[2] > 0), str(f)


def test_parquet_sidecar_columns_and_split_column(tmp_path):
    extra = {
        "level": ["name", "class", None],
        "socio_class": ["zoo", "school", None],
        "socio_function": ["recreation", "education", None],
        "split": ["test", "test", "val"],
    }
    f = write_parquet(tmp_path / "all.parquet", n=3, extra=extra)
    ds = make_dataset(str(f))
    assert ds.ids() == ["s000", "s001"]
    assert [(s.level, s.level_source, s.socio_class) for s in ds] == [
        ("name", "sidecar", "zoo"),
        ("class", "sidecar", "school"),
    ]
    val = make_dataset(str(f), split="val")
    assert [(s.id, s.level, s.level_source) for s in val] == [("s002", "function", "inferred")]
    with pytest.raises(DatasetNotFoundError, match="split column holds test, val"):
        make_dataset(str(f), split="train")


def test_parquet_missing_columns_are_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "test.parquet"
    pq.write_table(pa.table({"id": ["a"], "problem": ["schools"]}), f)
    with pytest.raises(DatasetNotFoundError, match=r"lacks the SocioSeg columns \['map_image', 'sat_image'"):
        make_dataset(str(f))


def test_parquet_corrupt_image_names_column_and_file(tmp_path):
    import pyarrow.parquet as pq

    f = write_parquet(tmp_path / "test.parquet", n=2)
    t = pq.read_table(f).to_pylist()
    t[1]["sat_image"] = {"bytes": b"garbage", "path": None}
    bad = tmp_path / "bad" / "test.parquet"
    bad.parent.mkdir()
    pq.write_table(pq.read_table(f).from_pylist(t, schema=pq.read_schema(f)), bad)
    ds = make_dataset(str(bad))
    assert ds.get("s000").load_scene().truth.any()
    with pytest.raises(InputError, match=r"column sat_image of .*bad/test.parquet .* not a readable image"):
        ds.get("s001").load_scene()


def test_not_a_parquet_file(tmp_path):
    f = tmp_path / "x.parquet"
    f.write_bytes(b"nope")
    with pytest.raises(InputError, match=r"x\.parquet is not readable"):
        make_dataset(str(f))


# ----------------------------------------------------------------------------------------------- review fixes


@pytest.mark.parametrize("bad", ["Class", "unknown", 3])
def test_invalid_sidecar_level_is_an_input_error_naming_file_and_values(raw, bad):
    meta = raw / "test" / "s000" / "meta.json"
    meta.write_text(json.dumps({"level": bad}))
    ds = make_dataset(str(raw))
    assert len(ds) == 3  # still listed, so the runner records it as an error row
    with pytest.raises(InputError) as e:
        ds.get("s000").load_scene()
    assert str(meta) in str(e.value) and "name, class, function" in str(e.value) and repr(bad) in str(e.value)
    assert ds.get("s001").level_source == "inferred" and ds.get("s001").error is None


def test_invalid_parquet_level_column_is_an_input_error_naming_file_and_values(tmp_path):
    f = write_parquet(tmp_path / "test.parquet", n=3, extra={"level": ["name", "Class", None]})
    ds = make_dataset(str(f))
    assert [(s.level, s.level_source) for s in ds if s.id != "s001"] == [("name", "sidecar"), ("function", "inferred")]
    with pytest.raises(InputError) as e:
        ds.get("s001").load_scene()
    assert str(f) in str(e.value) and "name, class, function" in str(e.value) and "'Class'" in str(e.value)


def test_corrupt_parquet_row_group_is_an_input_error_naming_sample_file_and_row_group(tmp_path):
    f = write_parquet(tmp_path / "test.parquet", n=4, row_group_size=2)
    damage_row_group(f, 1)
    ds = make_dataset(str(f))  # listing reads only the text columns
    assert ds.get("s000").load_scene().truth.any()
    with pytest.raises(InputError) as e:
        ds.get("s002").load_scene()
    msg = str(e.value)
    assert "'s002'" in msg and str(f) in msg and "row group 1" in msg and "re-download" in msg


def test_raw_sample_reads_like_load_scene_dir_geotiff_first(raw):
    from affine import Affine

    from tools.coords import GeoRef
    from tools.raster_io import geotiff_bytes
    from tools.scene import load_scene_dir

    d = raw / "test" / "s001"
    tif = np.full((64, 64, 3), 77, np.uint8)
    georef = GeoRef(crs="EPSG:32650", transform=Affine(0.5, 0, 500000, 0, -0.5, 4e6))
    (d / "sat.tif").write_bytes(geotiff_bytes(tif, georef))
    scene = make_dataset(str(raw)).get("s001").load_scene()
    direct = load_scene_dir(d)
    assert np.array_equal(scene.sat, tif) and np.array_equal(scene.sat, direct.sat)
    assert scene.georef == georef == direct.georef
    assert scene.scene_id == "s001" and np.array_equal(scene.truth, make_arrays(1)[2] > 0)


@pytest.mark.parametrize("name", ["sat.png", "map.png"])
def test_missing_image_of_a_raw_sample_is_named(raw, name):
    path = raw / "test" / "s000" / name
    path.unlink()
    with pytest.raises(InputError) as e:
        make_dataset(str(raw)).get("s000").load_scene()
    assert "'s000'" in str(e.value) and str(path) in str(e.value) and "re-export" in str(e.value)


def test_one_spec_parser_for_datasets_and_run_identity(raw, tmp_path):
    from evals.datasets import parse_dataset_spec
    from evals.runner import EvalConfig

    assert parse_dataset_spec(f"synth:{raw}") == ("synth", raw)
    assert parse_dataset_spec(str(raw)) == ("socioseg", raw)
    assert parse_dataset_spec("C:/data/socioseg") == ("socioseg", Path("C:/data/socioseg"))
    assert EvalConfig(data=str(raw), out=tmp_path).identity()["data"] == f"socioseg:{raw.resolve()}"
    for spec, needle in ((f"kaggle:{raw}", "unknown dataset spec"), ("synth:", "has no path")):
        with pytest.raises(InputError, match=needle):
            parse_dataset_spec(spec)
        with pytest.raises(InputError, match=needle):  # the run's identity reads the spec the same way
            EvalConfig(data=spec, out=tmp_path).identity()
