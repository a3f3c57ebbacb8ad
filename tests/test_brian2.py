"""The float kernel against Brian2 (numpy target): same membrane trace, same spikes, same rates.

The translation (snncc/refsim/to_brian2.py) maps snncc delay d to Brian2 delay (d-1)*dt and
tau_refrac to refractory = tau_refrac + dt; see docs/numerics.md for why.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.brian2
b2 = pytest.importorskip("brian2")

from snncc.ir import Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.refsim import simulate, to_brian2  # noqa: E402


def run_brian2(net, record_v=()):
    bnet, _, spikes, states = to_brian2.build(net, record_v=record_v, target="numpy")
    bnet.run(net.steps * net.dt * b2.ms)
    return to_brian2.raster(net, spikes, states)


def single_neuron_net():
    rng = np.random.default_rng(11)
    params = {"cm": [0.5], "tau_m": [15.0], "tau_refrac": [2.0], "tau_syn_E": [3.0], "tau_syn_I": [6.0],
              "v_rest": [-65.0], "v_reset": [-70.0], "v_thresh": [-52.0], "i_offset": [0.55]}
    pop = Population("n", 1, "lif", params, [-60.0], record=("spikes", "v"))
    t_e = np.sort(rng.choice(np.arange(0, 3000), 300, replace=False)) * 0.1
    t_i = np.sort(rng.choice(np.arange(0, 3000), 100, replace=False)) * 0.1
    t_x = np.sort(rng.choice(np.arange(0, 3000), 60, replace=False)) * 0.1
    src = SpikeSource("in", 3, np.r_[np.zeros(300, int), np.ones(100, int), np.full(60, 2)],
                      np.r_[t_e, t_i, t_x])
    prjs = (Projection("e", "in", "n", [0], [0], [0.3], [0.3], "excitatory"),          # 3 steps
            Projection("i", "in", "n", [1], [0], [-0.4], [1.7], "inhibitory"),         # 17 steps
            Projection("x", "in", "n", [2], [0], [0.25], [0.1], "excitatory"))         # 1 step
    return Network("one", 0.1, 3000, populations=(pop,), sources=(src,), projections=prjs)


def test_single_neuron_trace_and_spikes_match_brian2():
    net = single_neuron_net()
    ours, theirs = simulate(net), run_brian2(net, record_v=("n",))
    assert len(ours.spikes["n"][0]) >= 5                          # the test exercises threshold and reset
    assert np.array_equal(ours.spikes["n"][0], theirs.spikes["n"][0])
    v, vb = ours.states["n.v"][:, 0], theirs.states["n.v"][:, 0]
    assert np.max(np.abs(v - vb) / np.abs(vb)) < 1e-9


def test_comparison_detects_a_wrong_delay_mapping():
    """The check can fail: Brian2 given our delays unshifted puts every effect one step late."""
    net = single_neuron_net()
    bnet, _, spikes, states = to_brian2.build(net, record_v=("n",), target="numpy")
    for syn in bnet.objects:
        if isinstance(syn, b2.Synapses):
            syn.delay = syn.delay[:] + net.dt * b2.ms
    bnet.run(net.steps * net.dt * b2.ms)
    theirs = to_brian2.raster(net, spikes, states)
    v, vb = simulate(net).states["n.v"][:, 0], theirs.states["n.v"][:, 0]
    assert np.max(np.abs(v - vb) / np.abs(vb)) > 1e-6


def cuba(n=4000, steps=5000, seed=1):
    """CUBA (Brian2's example, as IF_curr_exp) with numpy-drawn connectivity shared by both simulators."""
    rng = np.random.default_rng(seed)
    n_exc = n * 4 // 5
    params = {"cm": np.ones(n), "tau_m": np.full(n, 20.0), "tau_syn_E": np.full(n, 5.0),
              "tau_syn_I": np.full(n, 10.0), "v_rest": np.full(n, -49.0), "v_reset": np.full(n, -60.0),
              "v_thresh": np.full(n, -50.0), "tau_refrac": np.full(n, 5.0), "i_offset": np.zeros(n)}
    pop = Population("neurons", n, "lif", params, -60.0 + 10.0 * rng.random(n))
    pre, post = np.nonzero(rng.random((n, n)) < 0.02)
    exc = pre < n_exc
    prjs = (Projection("exc", "neurons", "neurons", pre[exc], post[exc], np.full(exc.sum(), 1.62 / 20),
                       np.full(exc.sum(), 0.1)),
            Projection("inh", "neurons", "neurons", pre[~exc], post[~exc], np.full((~exc).sum(), -9.0 / 20),
                       np.full((~exc).sum(), 0.1), "inhibitory"))
    return Network("cuba", 0.1, steps, populations=(pop,), projections=prjs)


def test_cuba_population_rates_match_brian2():
    net = cuba()
    ours, theirs = simulate(net), run_brian2(net)
    n_exc = 3200
    for sl in (slice(0, n_exc), slice(n_exc, 4000)):
        def rate(r):
            i = r.spikes["neurons"][1]
            return np.count_nonzero((i >= sl.start) & (i < sl.stop)) / ((sl.stop - sl.start) * 0.5)
        a, b = rate(ours), rate(theirs)
        assert a > 1.0 and abs(a - b) / b < 0.03, (a, b)
