"""The benchmark's peers: Brian2 written as its examples write it, and NEST, run the same network
as the float kernel (bench/peer_brian2.py, bench/peer_nest.py)."""
from __future__ import annotations

import numpy as np
import pytest

from snncc.ir import Network, Population, Projection, SpikeSource
from snncc.refsim import simulate


def driven_net(model: str, tau_m=20.0) -> Network:
    """Two neurons (uniform parameters unless ``tau_m`` is a list) driven by random input spikes."""
    rng = np.random.default_rng(3)
    params = {"cm": [1.0] * 2, "tau_m": tau_m if isinstance(tau_m, list) else [tau_m] * 2,
              "tau_refrac": [2.0] * 2, "v_rest": [0.0] * 2, "v_reset": [10.0] * 2, "v_thresh": [20.0] * 2,
              "i_offset": [0.9] * 2, "tau_syn_E": [5.0] * 2, "tau_syn_I": [10.0] * 2}
    if model == "lif_delta":
        params = {k: v for k, v in params.items() if not k.startswith("tau_syn")}
    pop = Population("n", 2, model, params, [5.0, 12.0])
    t_e = np.sort(rng.choice(np.arange(0, 3000), 900, replace=False)) * 0.1
    t_i = np.sort(rng.choice(np.arange(0, 3000), 200, replace=False)) * 0.1
    src = SpikeSource("in", 2, np.r_[np.zeros(900, int), np.ones(200, int)], np.r_[t_e, t_i])
    w_e, w_i = (1.5, -1.0) if model == "lif_delta" else (2.0, -1.0)
    prjs = (Projection("e", "in", "n", [0, 0], [0, 1], [w_e, w_e], [0.3, 0.3], "excitatory"),
            Projection("i", "in", "n", [1, 1], [0, 1], [w_i, 0.5 * w_i], [1.7, 0.2], "inhibitory"))
    return Network("two", 0.1, 3000, populations=(pop,), sources=(src,), projections=prjs)


@pytest.mark.brian2
@pytest.mark.parametrize("model", ["lif", "lif_delta"])
def test_brian2_peer_spikes_equal_the_float_kernel(model):
    b2 = pytest.importorskip("brian2")
    from bench.peer_brian2 import build
    net = driven_net(model)
    b2.prefs.codegen.target = "numpy"
    objs, mons = build(net, b2)
    b2.Network(*objs).run(net.steps * net.dt * b2.ms)
    ours = simulate(net).spikes["n"]
    steps = np.rint(np.asarray(mons["n"].t) / (net.dt * 1e-3)).astype(np.int64)
    idx = np.asarray(mons["n"].i, np.int64)
    order = np.lexsort((idx, steps))
    assert len(ours[0]) > 20
    assert np.array_equal(steps[order], ours[0]) and np.array_equal(idx[order], ours[1])


@pytest.mark.brian2
def test_brian2_peer_makes_uniform_parameters_constants_and_keeps_varying_ones_per_neuron():
    b2 = pytest.importorskip("brian2")
    from bench.peer_brian2 import build
    b2.prefs.codegen.target = "numpy"
    objs, _ = build(driven_net("lif"), b2)
    group = next(o for o in objs if isinstance(o, b2.NeuronGroup))
    syn = [o for o in objs if isinstance(o, b2.Synapses)]
    assert "tau_m" not in group.variables and "tau_m" in group.namespace
    assert "w" not in syn[0].variables and "w" in syn[1].variables    # 'e' uniform, 'i' not
    objs, _ = build(driven_net("lif", tau_m=[20.0, 15.0]), b2)
    group = next(o for o in objs if isinstance(o, b2.NeuronGroup))
    assert "tau_m" in group.variables
    objs, _ = build(driven_net("lif"), b2, arrays=("params",))
    assert "tau_m" in next(o for o in objs if isinstance(o, b2.NeuronGroup)).variables


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_peer_times_its_tables_and_state_with_its_steps(tmp_path):
    """sim_s covers what snncc's simulate() call does - synapses, spike queues, state, steps - so it is
    at least Brian2's own run time (the steps alone), and the binary wrote it."""
    pytest.importorskip("brian2")
    import json
    import subprocess
    import sys

    from bench.common import ROOT
    from snncc.ir import save
    save(driven_net("lif"), tmp_path / "net.snn")
    out = subprocess.run([sys.executable, "-m", "bench.peer_brian2", str(tmp_path / "net.snn"), "--dir",
                          str(tmp_path / "b2")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    res = json.loads(out.stdout.splitlines()[-1])
    assert (tmp_path / "b2" / "results" / "snncc_sim_s.txt").exists()
    assert 0 < res["run_s"] == res["stepping_s"] < res["sim_s"] < res["binary_s"]
    assert res["setup_s"] == pytest.approx(res["sim_s"] - res["run_s"])


@pytest.mark.parametrize("model", ["lif", "lif_delta"])
def test_nest_peer_fires_like_the_float_kernel(model):
    nest = pytest.importorskip("nest")
    from bench.peer_nest import build
    net = driven_net(model)
    from bench.peer_nest import quiet
    quiet(nest)
    nest.ResetKernel()
    nest.set(resolution=net.dt, local_num_threads=1)
    rec = build(net, nest)
    nest.Simulate(net.steps * net.dt)
    ours = simulate(net).n_spikes
    theirs = int(np.sum(rec.n_events))
    # nominal delays (one step later than snncc's) move spikes, not rates; a wrong unit would not
    assert ours > 20 and abs(theirs - ours) <= 0.15 * ours, (theirs, ours)
