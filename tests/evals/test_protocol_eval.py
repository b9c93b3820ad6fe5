"""The protocol in ``socio eval``: the truth binarisation it implies; a resumed eval with another protocol refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from agent.backends import BackendConfig
from evals.datasets import make_dataset
from evals.runner import RESULTS, EvalConfig, read_results, run_eval
from tests.fixtures.socioseg_data import write_raw
from tools.errors import InputError


@pytest.fixture
def faint(tmp_path):
    """Three samples whose masks are RGB: the target is drawn (0, 0, 1), gray level 0, in sample s000."""
    data = write_raw(tmp_path / "data", n=3)
    mask_path = data / "test" / "s000" / "mask.png"
    on = np.asarray(Image.open(mask_path)) > 0
    rgb = np.zeros((*on.shape, 3), np.uint8)
    rgb[on] = (0, 0, 1)
    Image.fromarray(rgb).save(mask_path)
    return data, on


def test_the_mask_rule_decides_what_a_faint_mask_holds(faint):
    data, on = faint
    sample = make_dataset(str(data)).get("s000")
    np.testing.assert_array_equal(sample.load_scene().truth, on)  # any band > 0
    assert not sample.load_scene("gray").truth.any()  # convert("L") > 0: (0, 0, 1) is gray 0


def test_socioreasoner_evals_binarise_the_truth_as_the_reference(faint, tmp_path):
    data, _ = faint
    rows = {}
    for protocol in ("socioagent", "socioreasoner"):
        out = tmp_path / protocol
        run_eval(EvalConfig(data=str(data), out=out, backend=BackendConfig(policy="oracle-box", protocol=protocol)),
                 progress=False)  # fmt: skip
        rows[protocol] = {r.id: r.model_dump() for r in read_results(out / RESULTS)}
    assert rows["socioagent"]["s000"]["union"] > 0  # the oracle finds the faint target
    assert rows["socioreasoner"]["s000"]["union"] == 0 and rows["socioreasoner"]["s000"]["iou"] == 1.0  # no target
    for sid in ("s001", "s002"):  # plain 0/255 masks: the same under both rules
        assert rows["socioagent"][sid]["union"] == rows["socioreasoner"][sid]["union"]
    config = json.loads((tmp_path / "socioreasoner" / "config.json").read_text())
    assert config["protocol"] == "socioreasoner" and config["strict_parse"] is False


def test_a_resumed_eval_with_another_protocol_or_parse_mode_is_refused(tmp_path):
    data = write_raw(tmp_path / "data", n=2)

    def cfg(**kw):
        backend = BackendConfig(policy="oracle-box", **kw)
        return EvalConfig(data=str(data), out=tmp_path / "out", limit=1, backend=backend)

    run_eval(cfg(), progress=False)
    with pytest.raises(InputError, match="protocol: 'socioagent' -> 'socioreasoner'"):
        run_eval(cfg(protocol="socioreasoner"), progress=False)
    with pytest.raises(InputError, match="strict_parse: False -> True"):
        run_eval(cfg(strict_parse=True), progress=False)
