"""Pair STDP on the loihi target: Lava's learning engine cannot run the rule bit-exactly,
so a plastic model is refused with the projection named, from the command line too."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.loihi
pytest.importorskip("snncc_loihi", reason="the loihi backend (backends/loihi) is not installed")

MODEL = """\
network: {name: plastic, dt: 1.0, duration: 20}
populations:
  out: {cell_type: IF_curr_exp, size: 2}
sources:
  stim: {type: SpikeSourceArray, spike_times: [[1, 5]]}
projections:
  learn:
    pre: stim
    post: out
    connector: all_to_all
    weight: 1.0
    plasticity: {type: stdp, tau_plus: 20, A_plus: 0.01, w_max: 2.0}
"""


def test_compiling_a_plastic_model_for_loihi_names_the_projection(tmp_path: Path):
    model = tmp_path / "plastic.yaml"
    model.write_text(MODEL)
    res = subprocess.run([sys.executable, "-m", "snncc.cli", "compile", str(model), "--target", "loihi",
                          "-o", str(tmp_path / "build")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    first = res.stderr.strip().splitlines()[0]
    assert first == (f"{model}:7:3: projection 'learn': plasticity is not supported by the loihi target "
                     "(Lava's fixed-point learning is bit-approximate only)")
    assert "hint: remove the plasticity rule or use the fpga target" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "build").exists()
