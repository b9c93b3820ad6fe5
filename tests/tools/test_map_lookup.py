"""Tests for the map_lookup tool (how queries are read is tested in test_query.py)."""

from pathlib import Path

import numpy as np
import pytest

import tools
from tests.fixtures.town import town_layers
from tools.map_lookup import MapLookupInput, lookup
from tools.registry import ToolContext
from tools.scene import Scene
from tools.scene_store import SceneStore
from tools.taxonomy import CLASSES


@pytest.fixture
def scene():
    z = np.zeros((200, 200, 3), np.uint8)
    return Scene("s", z, z.copy(), layers=town_layers())


def test_class_lookup_returns_pois_and_areas_with_pixel_boxes(scene):
    out = lookup(scene, MapLookupInput(scene_id="s", query="hospitals"))
    assert out.level == "class"
    kinds = sorted(f.kind for f in out.features)
    assert kinds == ["landuse", "poi"]
    area = next(f for f in out.features if f.kind == "landuse")
    assert area.box.as_list() == [100, 120, 180, 190]
    assert area.box.contains(area.point.x, area.point.y)


def test_function_lookup_spans_classes_and_skips_roads(scene):
    out = lookup(scene, MapLookupInput(scene_id="s", function="education"))
    assert sorted(f.name for f in out.features) == ["Maple Grove Primary School", "Oakridge High School"]
    by_name = lookup(scene, MapLookupInput(scene_id="s", name="Hospital Road"))
    assert by_name.level == "name" and by_name.features == []  # a road is never a place


@pytest.mark.parametrize("query", ["xq zzv", "asdf", "stuff over there"])
def test_unrecognised_or_ambiguous_queries_return_nothing(scene, query):
    out = lookup(scene, MapLookupInput(scene_id="s", query=query))
    assert out.level == "unknown" and out.features == []


def test_a_place_to_pray_is_read_now_that_the_taxonomy_has_worship(scene):
    out = lookup(scene, MapLookupInput(scene_id="s", query="a place to pray"))
    assert (out.level, out.features) == ("class", [])  # the town has no place of worship
    assert "place_of_worship" in out.interpretation


def test_tool_through_registry(scene):
    store = SceneStore()
    store.put(scene)
    out = tools.REGISTRY.call("map_lookup", {"scene_id": "s", "name": "Riverside Park"}, ToolContext(store=store))
    assert [f.id for f in out.features] == ["p4"]
    assert out.features[0].box.area == 0  # a point of interest has a degenerate box


def test_osm_buildings_shops_and_subclasses_through_the_lookup():
    """A Helsinki window from OSM: "buildings" finds every building (a school's too), "shops" every kind of shop."""
    from affine import Affine

    from tools.vector_window import layers_for_window
    from tools.vectors import read_vectors

    osm = read_vectors(Path(__file__).resolve().parents[1] / "data" / "osm" / "helsinki.osm.pbf")
    layers = layers_for_window(osm, Affine(0.6, 0, 385700, 0, -0.6, 6672500), "EPSG:32635", (768, 768))
    z = np.zeros((768, 768, 3), np.uint8)
    scene = Scene("hel", z, z.copy(), layers=layers)
    kinds = ["poi", "landuse", "building", "other"]
    buildings = lookup(scene, MapLookupInput(scene_id="hel", query="buildings", kinds=kinds, limit=1000))
    assert buildings.level == "class" and len(buildings.features) == sum(f.kind == "building" for f in layers) > 50
    shops = lookup(scene, MapLookupInput(scene_id="hel", query="shops", kinds=kinds, limit=1000))
    classes = {f.cls for f in shops.features}
    assert len(classes) > 5 and all(c == "shop" or CLASSES[c].parent == "shop" for c in classes)
    pitch = lookup(scene, MapLookupInput(scene_id="hel", query="sports fields", kinds=kinds))
    assert "'pitch'" in pitch.interpretation and all(f.cls == "pitch" for f in pitch.features)
