"""The STDP learning demo (examples/stdp/pattern.py): a neuron learns a repeated pattern."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _demo():
    spec = importlib.util.spec_from_file_location("stdp_pattern", ROOT / "examples" / "stdp" / "pattern.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("target", ["fpga", "float"])
def test_the_trained_pattern_is_detected_every_time(target):
    if target == "fpga":
        pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")
    out = _demo().main(target, quiet=True)
    assert out["before"]["detection"] < 0.6           # untrained: the pattern is mostly missed
    assert out["after"]["presentations"] > 20
    assert out["after"]["detection"] == 1.0           # trained: every presentation detected
    assert out["after"]["false_alarm_hz"] <= 1.0
    assert out["pattern_weight"] > 0.9 and out["other_weight"] < 0.2


def test_the_score_counts_misses_and_false_alarms():
    import numpy as np

    from snncc.refsim import Raster
    demo = _demo()
    r = Raster(dt=1.0, steps=200, sizes={"detector": 1},
               spikes={"detector": (np.array([12, 55, 150]), np.zeros(3, np.int32))})
    s = demo.score(r, np.array([10, 100, 145]))
    assert (s["detected"], s["false_alarms"]) == (2, 1)    # 100 missed; 55 is outside every window
    assert s["detection"] == pytest.approx(2 / 3)
