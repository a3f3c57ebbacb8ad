"""The IF_curr_delta (``lif_delta``) translation to Brian2 that bench_simulation's Brunel rows use:
same membrane trace and spikes as the float kernel, including input that arrives during and
right after the refractory period."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.brian2
b2 = pytest.importorskip("brian2")

from snncc.ir import Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.refsim import simulate, to_brian2  # noqa: E402


def delta_net():
    """One Brunel-like delta neuron (tau_refrac 2 ms = 20 steps) driven hard by two random inputs."""
    rng = np.random.default_rng(3)
    params = {"cm": [1.0], "tau_m": [20.0], "tau_refrac": [2.0], "v_rest": [0.0], "v_reset": [10.0],
              "v_thresh": [20.0], "i_offset": [0.9]}
    pop = Population("n", 1, "lif_delta", params, [5.0], record=("spikes", "v"))
    t_e = np.sort(rng.choice(np.arange(0, 3000), 900, replace=False)) * 0.1
    t_i = np.sort(rng.choice(np.arange(0, 3000), 200, replace=False)) * 0.1
    src = SpikeSource("in", 2, np.r_[np.zeros(900, int), np.ones(200, int)], np.r_[t_e, t_i])
    prjs = (Projection("e", "in", "n", [0], [0], [1.5], [0.3], "excitatory"),       # 3 steps
            Projection("i", "in", "n", [1], [0], [-1.0], [1.7], "inhibitory"))      # 17 steps
    return Network("one", 0.1, 3000, populations=(pop,), sources=(src,), projections=prjs)


def run_brian2(net, slot=None):
    bnet, _, spikes, states = to_brian2.build(net, record_v=("n",), target="numpy")
    if slot is not None:
        for obj in bnet.objects:
            if isinstance(obj, b2.Synapses):
                obj.pre.when = slot
    bnet.run(net.steps * net.dt * b2.ms)
    return to_brian2.raster(net, spikes, states)


def test_delta_neuron_trace_and_spikes_match_brian2():
    net = delta_net()
    ours, theirs = simulate(net), run_brian2(net)
    s = ours.spikes["n"][0]
    assert len(s) >= 20
    # inputs land in the refractory window and on its first free step (what the gate must get right)
    arrive = np.rint(np.r_[net.sources[0].times[net.sources[0].index == 0] / 0.1 + 3]).astype(int)
    assert any(np.isin(arrive, s + 21).tolist()) and any(np.isin(arrive, s + 5).tolist())
    assert np.array_equal(s, theirs.spikes["n"][0])
    v, vb = ours.states["n.v"][:, 0], theirs.states["n.v"][:, 0]
    assert np.max(np.abs(v - vb)) < 1e-9


def test_delta_comparison_detects_synapses_in_the_wrong_slot():
    """Brian2's default slot (after the threshold) delays every effect by one update: it must show."""
    net = delta_net()
    v, vb = simulate(net).states["n.v"][:, 0], run_brian2(net, slot="synapses").states["n.v"][:, 0]
    assert np.max(np.abs(v - vb)) > 1e-3
