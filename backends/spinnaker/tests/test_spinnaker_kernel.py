"""The ``spinnaker`` kernel and lowering: sPyNNaker's s16.15 IF_curr_exp arithmetic.

The numba kernel inside the engine is checked step by step against a scalar
re-implementation written from the C sources' formulas with Python integers, on random
small networks; the fixed-point trace is checked against the float model's physics;
the ring-buffer rules against sPyNNaker's.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.compiler import lower  # noqa: E402
from snncc.ir import MODEL_PARAMS, Network, Population, Projection, SpikeSource  # noqa: E402
from snncc.refsim import simulate  # noqa: E402
from snncc.verify import compare  # noqa: E402
from snncc_spinnaker.kernel import SpinnakerKernel  # noqa: E402
from snncc_spinnaker.lower import ring_buffer_shift, weight_scale  # noqa: E402


def lif(name, size, record=("spikes", "v"), v_init=-65.0, **over):
    params = {k: np.full(size, float(over.get(k, d))) for k, (d, _) in MODEL_PARAMS["lif"].items()}
    return Population(name, size, "lif", params, np.full(size, float(v_init)), record)


def fixed(net):
    return lower(net, "spinnaker").network


# ------------------------------------------------------------ scalar reference (Python ints)

def _w32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _mul(a, b):
    return max(-(1 << 31), min((1 << 31) - 1, (a * b + (1 << 14)) >> 15))


def scalar_run(net, steps):
    """(spikes as (step, flat neuron) list, v trace) by the C formulas, one neuron at a time."""
    P = [(p, {k: [int(x) for x in v] for k, v in p.params.items()}) for p in net.populations]
    off, offs = 0, {}
    for p in net.populations:
        offs[p.name] = off
        off += p.size
    for s in net.sources:
        offs[s.name] = off
        off += s.size
    n = net.n_neurons
    prm = {k: sum((c[k] for _, c in P), []) for k in P[0][1]}
    syn = {}  # global pre -> [(post, rec, delay, q)]
    for prj in net.projections:
        for a, b, q, d in zip(prj.pre_idx, prj.post_idx, prj.weight, prj.delay):
            syn.setdefault(offs[prj.pre] + int(a), []).append(
                (offs[prj.post] + int(b), 0 if prj.receptor == "excitatory" else 1, int(d), int(q)))
    src = {}
    for s in net.sources:
        for i, t in zip(s.index, s.step):
            src.setdefault(int(t), []).append(offs[s.name] + int(i))
    ring = {}
    v = list(prm["v_init"])
    ie, ii, r = [0] * n, [0] * n, [0] * n
    spikes, trace = [], []
    for t in range(steps):
        fired = []
        for k in range(n):
            qe = min(ring.pop((t, 0, k), 0), 0xFFFF)
            qi = min(ring.pop((t, 1, k), 0), 0xFFFF)
            ie[k] = _w32(ie[k] + ((_w32(qe << prm["shift_E"][k]) * prm["init_E"][k]) >> 32))
            ii[k] = _w32(ii[k] + ((_w32(qi << prm["shift_I"][k]) * prm["init_I"][k]) >> 32))
            if r[k] <= 0:
                total = _w32(ie[k] - ii[k] + prm["i_offset"][k])
                alpha = _w32(_mul(total, prm["r_mem"][k]) + prm["v_rest"][k])
                v[k] = _w32(alpha - _mul(prm["exp_tc"][k], _w32(alpha - v[k])))
            else:
                r[k] -= 1
            if v[k] >= prm["v_thresh"][k]:
                fired.append(k)
                v[k], r[k] = prm["v_reset"][k], prm["t_refract"][k]
            ie[k] = (ie[k] * prm["decay_E"][k]) >> 32
            ii[k] = (ii[k] * prm["decay_I"][k]) >> 32
        trace.append(list(v))
        for j in fired + src.get(t, []):
            if j < n:
                spikes.append((t, j))
            for post, rec, d, q in syn.get(j, []):
                ring[(t + d, rec, post)] = ring.get((t + d, rec, post), 0) + q
    return spikes, np.array(trace)


def random_net(seed, n_a, n_b, steps):
    rng = np.random.default_rng(seed)
    a = lif("a", n_a, v_init=-60.0, i_offset=float(rng.uniform(0.0, 1.2)),
            tau_refrac=float(rng.choice([0.1, 2.0])),
            tau_syn_E=float(rng.uniform(1.0, 8.0)), cm=float(rng.uniform(0.3, 1.5)))
    b = lif("b", n_b, v_init=-62.0, tau_m=float(rng.uniform(5.0, 30.0)),
            tau_syn_I=float(rng.uniform(2.0, 10.0)))
    src = SpikeSource("in", 4, rng.integers(0, 4, 30), rng.integers(0, steps, 30).astype(float))
    prjs = []
    for name, pre, post, npre, npost, rec in (("in_a", "in", "a", 4, n_a, "excitatory"),
                                              ("a_b", "a", "b", n_a, n_b, "excitatory"),
                                              ("b_a", "b", "a", n_b, n_a, "inhibitory"),
                                              ("a_a", "a", "a", n_a, n_a, "excitatory")):
        k = int(rng.integers(1, 3 * max(npre, npost)))
        w = rng.uniform(0.05, 3.0, k) * (1 if rec == "excitatory" else -1)
        prjs.append(Projection(name, pre, post, rng.integers(0, npre, k), rng.integers(0, npost, k), w,
                               rng.integers(1, 6, k).astype(float), rec))
    return Network("r", 1.0, steps, populations=(a, b), sources=(src,), projections=tuple(prjs))


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31), n_a=st.integers(1, 6), n_b=st.integers(1, 6))
def test_kernel_equals_scalar_reference(seed, n_a, n_b):
    steps = 60
    net = fixed(random_net(seed, n_a, n_b, steps))
    r = simulate(net, steps, kernel=SpinnakerKernel(net))
    spikes, trace = scalar_run(net, steps)
    got = sorted((int(s), int(i) + (0 if name == "a" else n_a))
                 for name in ("a", "b") for s, i in zip(*r.spikes[name]))
    assert got == sorted(spikes)
    assert np.array_equal(np.hstack([r.states["a.v"], r.states["b.v"]]), trace)


def test_scalar_reference_can_fail():
    """The comparison above notices a one-LSB change of one parameter."""
    steps = 60
    net = fixed(random_net(3, 3, 3, steps))
    r = simulate(net, steps, kernel=SpinnakerKernel(net))
    p = net.populations[0]
    bumped = dict(p.params)
    bumped["exp_tc"] = np.asarray(p.params["exp_tc"]) + 1
    other = net.with_(populations=(p.__class__(p.name, p.size, p.kernel, bumped, p.widths, p.record, p.loc),)
                      + net.populations[1:])
    _, trace = scalar_run(other, steps)
    assert not np.array_equal(np.hstack([r.states["a.v"], r.states["b.v"]]), trace)


# ------------------------------------------------------------ physics and ring buffers

def test_fixed_point_tracks_float_physics():
    """A constant current: the s16.15 trace stays within a few LSB of the exact solution,
    and the firing steps match the float model's."""
    net = Network("c", 1.0, 200, populations=(lif("n", 1, v_init=-65.0, i_offset=0.9, tau_refrac=2.0),))
    fx = fixed(net)
    rf = simulate(net)
    rx = simulate(fx, kernel=SpinnakerKernel(fx))
    # closed form with constant input equals the exact integration when there are no synapses
    vf = rf.states["n.v"][:, 0]
    vx = rx.states["n.v"][:, 0] / 2 ** 15
    held = np.isclose(vf, -65.0)
    assert np.max(np.abs(vf - vx)[~held]) < 5e-3
    assert rx.spikes["n"][0].size > 3
    assert np.array_equal(rf.spikes["n"][0], rx.spikes["n"][0])


def test_synaptic_charge_matches_exponential_synapse():
    """One input of w nA puts w*tau/dt*(1-exp(-dt/tau)) into I in its arrival step (init),
    then decays by exp(-dt/tau) per step - sPyNNaker's exponential synapse."""
    w, tau = 1.5, 4.0
    cell = lif("n", 1, v_thresh=100.0, tau_syn_E=tau, record=("spikes", "i_E"))
    net = Network("s", 1.0, 12, populations=(cell,),
                  sources=(SpikeSource("in", 1, [0], [2.0]),),
                  projections=(Projection("p", "in", "n", [0], [0], [w], [1.0]),))
    fx = fixed(net)
    r = simulate(fx, kernel=SpinnakerKernel(fx))
    i_e = r.states["n.i_E"][:, 0] / 2 ** 15
    # the engine records after the step's decay: arrival at step 3
    expect = w * tau * (1 - math.exp(-1 / tau)) * math.exp(-1 / tau)
    assert i_e[2] == 0
    assert abs(i_e[3] - expect) < 1e-3
    assert abs(i_e[4] / i_e[3] - math.exp(-1 / tau)) < 1e-3


def test_ring_buffer_saturates_at_16_bits():
    net = Network("s", 1.0, 5, populations=(lif("n", 1, v_thresh=1e4, record=("spikes", "i_E")),),
                  sources=(SpikeSource("in", 3, [0, 1, 2], [0.0, 0.0, 0.0]),),
                  projections=(Projection("p", "in", "n", [0, 1, 2], [0, 0, 0], [1.0, 1.0, 1.0], [1.0] * 3),))
    fx = fixed(net)
    k = SpinnakerKernel(fx)
    state = k.init_state()
    x = np.zeros((2, 1), np.int64)
    x[0, 0] = 0x30000            # three full-scale weights: the uint16 buffer saturates
    k.step(state, x)
    sat = state["i_E"].copy()
    state = k.init_state()
    x[0, 0] = 0xFFFF
    k.step(state, x)
    assert np.array_equal(sat, state["i_E"])


@pytest.mark.parametrize("w, shift", [(0.0, 0), (0.3, 0), (0.999, 0), (1.0, 1), (1.5, 1), (2.0, 2),
                                      (8.227, 4), (16.0, 5), (100.0, 7)])
def test_ring_buffer_shift_rule(w, shift):
    """sPyNNaker's rule: smallest power of two strictly above the summed weight."""
    assert ring_buffer_shift(w) == shift


def test_weights_quantised_as_spynnaker_does():
    rng = np.random.default_rng(5)
    w = rng.uniform(0.01, 0.5, 50)
    net = Network("q", 1.0, 10, populations=(lif("n", 50),), sources=(SpikeSource("in", 50, [], []),),
                  projections=(Projection("p", "in", "n", np.arange(50), np.arange(50), w, np.ones(50)),))
    fx = fixed(net)
    s = fx.attrs["ring_buffer_shifts"]["n"][0]
    assert s == ring_buffer_shift(w.max())
    assert np.array_equal(fx.projections[0].weight, np.rint(w * weight_scale(s)).astype(np.int64))
    assert weight_scale(s) == 2.0 ** (15 - s)


def test_verify_names_a_wrong_spinnaker_raster():
    """snncc verify's compare() rejects a raster with one spike moved."""
    net = fixed(random_net(7, 4, 4, 80))
    r = simulate(net, kernel=SpinnakerKernel(net))
    name = max(r.spikes, key=lambda k: r.spikes[k][0].size)
    s, i = r.spikes[name]
    assert s.size
    wrong = dict(r.spikes)
    wrong[name] = (s.copy(), i.copy())
    wrong[name][0][0] += 1
    bad = r.__class__(r.dt, r.steps, r.sizes, wrong, source="wrong")
    assert compare(r, r).equal
    assert not compare(r, bad).equal


def test_compiled_loop_equals_per_step_path():
    """The compiled loop (Kernel.compiled, recording inside) and the per-step path give the same
    raster and states."""
    net = fixed(random_net(11, 6, 6, 120))
    a = simulate(net, kernel=SpinnakerKernel(net), fused=False)
    b = simulate(net, kernel=SpinnakerKernel(net))
    assert a.n_spikes > 0
    for name in a.spikes:
        assert np.array_equal(a.spikes[name][0], b.spikes[name][0])
        assert np.array_equal(a.spikes[name][1], b.spikes[name][1])
    for key in a.states:
        assert np.array_equal(a.states[key], b.states[key])


def test_u032_product_on_int32_patterns_is_exact():
    """The kernel holds a u0.32 fraction U as its int32 pattern u; (a * U) >> 32 rebuilt from
    a * u equals Python's for the whole ranges (a change of the correction term fails here)."""
    from snncc_spinnaker.kernel import _mul_u032
    rng = np.random.default_rng(5)
    a = np.concatenate([[-(1 << 31), -1, 0, 1, (1 << 31) - 1], rng.integers(-(1 << 31), 1 << 31, 300)])
    u = np.concatenate([[0, 1, (1 << 31) - 1, 1 << 31, (1 << 32) - 1], rng.integers(0, 1 << 32, 300)])
    for x, big in zip(a.tolist(), u.tolist()):
        pattern = big - (1 << 32) if big >= 1 << 31 else big
        assert _mul_u032(x, pattern, -1 if pattern < 0 else 0) == (x * big) >> 32, (x, big)


def test_parameter_outside_32_bits_is_refused():
    """Every parameter is held in 32 bits: a value beyond them is refused by name, not wrapped."""
    import dataclasses

    from snncc.errors import SnnccError
    net = fixed(random_net(3, 3, 3, 10))
    SpinnakerKernel(net)                                   # as lowered: accepted
    pop = net.populations[1]
    bad = dataclasses.replace(pop, params={**pop.params, "r_mem": np.full(pop.size, 1 << 31)})
    with pytest.raises(SnnccError, match=r"r_mem of neuron 0 in 'b' = 2147483648"):
        SpinnakerKernel(net.with_(populations=(net.populations[0], bad)))
