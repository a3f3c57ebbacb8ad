"""Issue 15, class 5: valid models compile for every target, and what an SDK would refuse
is caught before the SDK, with our own message naming the object.

The hostile models are tests/hostile/sdk_* (and num_delay_half_dt.yaml, whose delay of
dt/2 reached Lava as "block 0 delays: value -1 outside [0, 63]").
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from limited import HOSTILE
from snncc.cli import main
from snncc.errors import SnnccError

needs_spinnaker = pytest.mark.skipif(importlib.util.find_spec("snncc_spinnaker") is None,
                                     reason="no spinnaker backend")
needs_loihi = pytest.mark.skipif(importlib.util.find_spec("snncc_loihi") is None, reason="no loihi backend")


@pytest.fixture
def here(tmp_path, monkeypatch):
    for f in HOSTILE.glob("sdk_*"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _spike_times_given(build: Path) -> list:
    """What the emitted run.py hands sim.SpikeSourceArray, with a stand-in for sPyNNaker."""
    sys.path.insert(0, str(build / "pynn"))
    try:
        spec = importlib.util.spec_from_file_location("snncc_test_run", build / "pynn" / "run.py")
        run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run)
        sim = mock.MagicMock(__name__="pyNN.spiNNaker")
        run.build(sim, *run.load())
    finally:
        sys.path.remove(str(build / "pynn"))
    return [c.kwargs["spike_times"] for c in sim.SpikeSourceArray.call_args_list]


@needs_spinnaker
@pytest.mark.spinnaker
@pytest.mark.parametrize("model", ["sdk_empty_source.yaml", "sdk_nir_no_stimulus.nir"])
def test_a_silent_source_reaches_spynnaker_as_an_empty_list(here, model):
    assert main(["compile", model, "-t", "spinnaker", "-o", "b", "-O", "map=false"]) == 0
    assert _spike_times_given(here / "b") == [[]]


@needs_spinnaker
@pytest.mark.spinnaker
@pytest.mark.slow
@pytest.mark.parametrize("model", ["sdk_empty_source.yaml", "sdk_nir_no_stimulus.nir"])
def test_a_silent_source_maps_on_spynnaker(here, model, capsys):
    """sPyNNaker 7.4.1 itself (the mapping check on a virtual board) takes the silent source;
    it failed with 'IndexError: list index out of range' and no location."""
    assert main(["compile", model, "-t", "spinnaker", "-o", "b"]) == 0, capsys.readouterr().err


@needs_spinnaker
@pytest.mark.spinnaker
def test_a_time_step_spynnaker_cannot_hold_is_refused_before_spynnaker(here, capsys):
    assert main(["compile", "sdk_dt_huge.yaml", "-t", "spinnaker", "-o", "b"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "sdk_dt_huge.yaml:2:1: network 'm': dt = 100000 ms; sPyNNaker holds the time step in s16.15 "
        "(0.000488281..65536 ms within 6.25 %)")


@needs_spinnaker
def test_spynnaker_failures_report_the_exception_not_the_warning_after_it():
    from snncc_spinnaker.mapping import sdk_error
    stderr = ("2026-12-03 INFO: Read configs\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
              "ValueError: value 100000.000000 cannot be converted to 16.15 signed fixed point number: out of "
              "range\n!WARNING: 1 log messages were generated at level WARNING or above.\nThese are:\n"
              "A timestep was entered that has forced SpiNNaker to automatically slow the simulation down\n")
    assert sdk_error(stderr) == ("ValueError: value 100000.000000 cannot be converted to 16.15 signed fixed point "
                                 "number: out of range")
    assert sdk_error("just one line\n") == "just one line"
    assert sdk_error("") == "no output"


@needs_loihi
@pytest.mark.loihi
def test_a_delay_of_0_steps_is_named_by_the_loihi_lowering():
    """Validate refuses it first; a network built past it still gets a message naming the
    projection, not Lava's 'block 0 delays: value -1 outside [0, 63]'."""
    from snncc.ir import Network, StepPopulation, StepProjection
    from snncc_loihi.lower import LoihiLower
    coef = {k: np.full(2, v) for k, v in (("decay_v", 0.9), ("gain_E", 0.1), ("gain_I", 0.1), ("decay_E", 0.8),
                                          ("decay_I", 0.8), ("bias", 0.0), ("v_thresh", 1.0), ("v_reset", 0.0),
                                          ("v_init", 0.0), ("refrac", 0.0))}
    pops = [StepPopulation(n, 2, "lif", "exp", coef) for n in ("a", "b")]
    prj = StepProjection("ab", "a", "b", np.arange(2), np.arange(2), np.ones(2), np.array([1, 0]))
    with pytest.raises(SnnccError) as e:
        LoihiLower().run(Network("n", 1.0, 10, pops, (), [prj], stage="step"), None)
    assert e.value.message == "projection 'ab': synapse 1 has a delay of 0 steps; Loihi delays are 1..64 steps"


@pytest.mark.parametrize("target", [t for t in ("reference", "fpga", "loihi", "spinnaker")
                                    if t == "reference" or importlib.util.find_spec(f"snncc_{t}")])
def test_a_delay_of_half_a_step_never_reaches_an_sdk(tmp_path, monkeypatch, capsys, target):
    shutil.copy(HOSTILE / "num_delay_half_dt.yaml", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "num_delay_half_dt.yaml", "-t", target, "-o", "b"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "num_delay_half_dt.yaml:9:68: projections.sa.delay: delay 0.5 ms rounds to 0 steps at dt = 1 ms; delays "
        "must be at least one step")
