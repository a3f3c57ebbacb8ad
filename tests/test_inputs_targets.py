"""Run-time inputs on each target's own runner: one load for a batch, a reset between inputs that
is observable in the network used (so a missing reset would fail), every raster equal to the
target's kernel on that input alone."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from snncc import inputs as I
from snncc import targets
from snncc.build import load_build
from snncc.compiler import compile_model
from snncc.refsim import simulate
from snncc.verify import compare

# integrators that keep their charge (tau_m 1 s) and delays of 3 and 2 steps: an input leaves
# membrane potential and spikes in flight behind, which the next input must not see
MODEL = """\
network: {name: carry, dt: 1.0, duration: 30}
populations:
  a:
    cell_type: IF_curr_exp
    size: 4
    parameters: {tau_m: 1000.0, v_thresh: -55.0, tau_syn_E: 2.0, tau_syn_I: 2.0, tau_refrac: 0.0}
  b:
    cell_type: IF_curr_exp
    size: 3
    parameters: {tau_m: 1000.0, v_thresh: -55.0, tau_syn_E: 2.0, tau_syn_I: 2.0, tau_refrac: 0.0}
sources:
  pix: {type: input, size: 6}
projections:
  pa: {pre: pix, post: a, connector: {type: fixed_probability, p: 0.7, seed: 1}, weight: 1.2, delay: 3.0}
  ab: {pre: a, post: b, connector: all_to_all, weight: 0.9, delay: 2.0}
"""
STEPS = 30


def batch(net):
    rng = np.random.default_rng(4)
    out = []
    for k in range(3):
        keys = np.unique(rng.integers(0, STEPS * 6, 40))
        keys = np.union1d(keys, [(STEPS - 1) * 6 + 1, (STEPS - 2) * 6 + 3])    # spikes in flight at the end
        out.append(I.from_arrays(f"in{k}", net, STEPS, {"pix": (keys // 6, keys % 6)}))
    return [out[0], out[0], out[1], out[2]]         # the same input twice in a row: equal rasters


def build_for(target, tmp_path, model_text=MODEL):
    try:
        targets.get(target)
    except Exception as e:     # noqa: BLE001 - not installed
        pytest.skip(f"target {target}: {e}")
    model = tmp_path / "carry.yaml"
    model.write_text(model_text)
    return load_build(compile_model(model, target, tmp_path / target).path)


def check_batch(build, rasters, inputs):
    net = build.network()
    assert len(rasters) == len(inputs)
    for inp, got in zip(inputs, rasters):
        want = simulate(I.with_input(net, inp), steps=STEPS)
        c = compare(want, got)
        assert c.equal, (inp.name, c.describe("kernel", build.target))
        assert c.vacuous is None, c.vacuous
    assert compare(rasters[0], rasters[1]).equal


def test_the_reset_is_observable_in_this_network(tmp_path):
    """Running input 0 right after input 0 without a reset (one run of twice the length) gives
    other spikes than running it fresh: a runner that skipped the reset would fail check_batch."""
    build = build_for("reference", tmp_path)
    net = build.network()
    inp = batch(net)[0]
    s, i = inp.spikes["pix"]
    twice = I.from_arrays("twice", net, 2 * STEPS, {"pix": (np.concatenate([s, s + STEPS]), np.concatenate([i, i]))})
    long = simulate(I.with_input(net, twice), steps=2 * STEPS)
    fresh = simulate(I.with_input(net, inp), steps=STEPS)
    for name in ("a", "b"):
        st, ix = long.spikes[name]
        second = set(zip((st[st >= STEPS] - STEPS).tolist(), ix[st >= STEPS].tolist()))
        if second != set(zip(*(x.tolist() for x in fresh.spikes[name]))):
            return
    pytest.fail("the second half equals a fresh run: this network cannot show a missing reset")


@pytest.mark.fpga
def test_fpga_simulated_board_runs_a_batch_with_one_upload(tmp_path, monkeypatch):
    if shutil.which("verilator") is None:
        pytest.skip("the simulated board needs verilator")
    build = build_for("fpga", tmp_path)
    from snncc_fpga import sim
    from snncc_fpga import upload as U
    calls = []
    real = U.upload
    monkeypatch.setattr(U, "upload", lambda *a, **k: calls.append(1) or real(*a, **k))
    inputs = batch(build.network())
    try:
        rasters = list(targets.get("fpga").run_inputs(build, None, inputs, {"port": "sim"}))
    finally:
        board = sim.find(build.file("sim-board.json"))
        if board is not None:
            sim.stop_pid(board.pid)
    assert len(calls) == 1
    check_batch(build, rasters, inputs)


@pytest.mark.loihi
def test_lava_runs_a_batch_with_one_compile(tmp_path):
    pytest.importorskip("lava")
    build = build_for("loihi", tmp_path)
    inputs = batch(build.network())
    rasters = list(targets.get("loihi").run_inputs(build, None, inputs, {}))
    assert all(r.source == "lava:fixed_pt" for r in rasters)
    check_batch(build, rasters, inputs)


@pytest.mark.loihi
def test_lava_batch_resets_refractory_periods(tmp_path):
    """With tau_refrac = 3 ms the groups are LIFRefractory: a refractory period running at the
    end of one input ('a' fires on the last step) must not hold v at the start of the next
    (input through a 1-step delay); shown to fail without the reset of refractory_period_end."""
    pytest.importorskip("lava")
    model = MODEL.replace("tau_refrac: 0.0", "tau_refrac: 3.0").replace("delay: 3.0", "delay: 1.0")
    build = build_for("loihi", tmp_path, model)
    assert any(int(p.params["refrac"].max()) == 3 for p in build.network().populations)
    inputs = batch(build.network())
    rasters = list(targets.get("loihi").run_inputs(build, None, inputs, {}))
    check_batch(build, rasters, inputs)


@pytest.mark.spinnaker
@pytest.mark.brian2
def test_spinnaker_script_runs_a_batch_with_one_build_on_brian2(tmp_path):
    """The emitted PyNN script builds the network once and sets the input port's
    SpikeSourceArray per input, PyNN's reset() between: the same input twice gives the same
    raster (the carry-over network would show a missing reset), another input another one."""
    pytest.importorskip("brian2")
    try:
        targets.get("spinnaker")
    except Exception as e:     # noqa: BLE001 - not installed
        pytest.skip(f"target spinnaker: {e}")
    model = tmp_path / "carry.yaml"
    model.write_text(MODEL)
    build = load_build(compile_model(model, "spinnaker", tmp_path / "sp", {"map": "false"}).path)
    inputs = batch(build.network())[1:]          # in0, in1, in2 -> run in0 twice first
    inputs = [inputs[0], inputs[0], inputs[1]]
    rasters = list(targets.get("spinnaker").run_inputs(build, None, inputs, {"simulator": "brian2"}))
    assert [r.source for r in rasters] == ["pyNN.brian2"] * 3
    assert rasters[0].n_spikes > 0 and compare(rasters[0], rasters[1]).equal
    assert not compare(rasters[0], rasters[2]).equal


@pytest.mark.fpga
def test_make_demo_fails_on_a_silent_network_and_passes_on_synfire(tmp_path, capsys):
    """`make demo` holds itself to verify's rule: identical rasters without spikes are no pass.
    The carry network run without input is silent on board and kernel alike."""
    if shutil.which("verilator") is None:
        pytest.skip("the simulated board needs verilator")
    from snncc.demo import main as demo
    model = tmp_path / "carry.yaml"
    model.write_text(MODEL)
    assert demo([str(model), "-o", str(tmp_path / "silent")]) == 1
    out = capsys.readouterr().out
    assert "[verify] VACUOUS: the rasters are identical, but the comparison proves nothing" in out
    assert "demo FAILED" in out
    assert demo(["-o", str(tmp_path / "synfire")]) == 0
    out = capsys.readouterr().out
    assert "[verify] OK: rasters are identical" in out and "demo PASSED" in out
