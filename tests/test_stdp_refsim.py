"""Pair STDP in the reference simulator: the float rule, the fpga integer rule, the engine hook.

The engine's hook (snncc/refsim/plasticity.py) is checked against a naive per-step
simulation written here from docs/stdp.md: dense delay ring, every synapse visited every
step, traces per projection. Both rules must agree with it exactly (the integer rule) or
to rounding (the float rule: same operations, same order).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from snncc.errors import SnnccError
from snncc.ir import (MODEL_PARAMS, STDP, FixedPopulation, FixedProjection, Network, Population,
                      Projection, SpikeSource, StepSource)
from snncc.refsim import simulate
from snncc.refsim.float_kernel import FloatKernel
from snncc.refsim.kernel import Kernel, StateVar

fpga = pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")
from snncc_fpga.kernel import PARAMS, FpgaKernel  # noqa: E402
from snncc_fpga.stdp import decay_shift, rule_params  # noqa: E402


# ------------------------------------------------------------------ naive references

def _naive(net, kernel, rule_step, init):
    """Per-step simulation with a dense ring and the weights as per-projection arrays."""
    off, o = {}, 0
    for p in net.populations:
        off[p.name] = o
        o += p.size
    for s in net.sources:
        off[s.name] = o
        o += s.size
    n = net.n_neurons
    size = {x.name: x.size for x in list(net.populations) + list(net.sources)}
    prjs = list(net.projections)
    w = [np.asarray(kernel.synapse_weights(p)).copy() for p in prjs]
    st = [init(p, w[k]) if p.plasticity is not None else None for k, p in enumerate(prjs)]
    depth = max(int(p.delay.max()) for p in prjs) + 1
    ring = np.zeros((depth, 2, n), dtype=kernel.accum_dtype)
    state = kernel.init_state()
    spikes = []
    for t in range(net.steps):
        fired_n = np.asarray(kernel.step(state, ring[t % depth]), dtype=np.int64)
        ring[t % depth] = 0
        fired = set(fired_n.tolist())
        for s in net.sources:
            fired |= {off[s.name] + int(i) for i in s.index[s.step == t]}
        spikes.append(fired_n)
        for k, p in enumerate(prjs):
            r = 0 if p.receptor == "excitatory" else 1
            for m in range(p.n_synapses):
                if off[p.pre] + int(p.pre_idx[m]) in fired:
                    ring[(t + int(p.delay[m])) % depth, r, off[p.post] + int(p.post_idx[m])] += w[k][m]
        for k, p in enumerate(prjs):
            if p.plasticity is None:
                continue
            pre_f = [j for j in range(size[p.pre]) if off[p.pre] + j in fired]
            post_f = [i for i in range(size[p.post]) if off[p.post] + i in set(fired_n.tolist())]
            rule_step(p, st[k], w[k], pre_f, post_f)
    return spikes, {p.name: w[k] for k, p in enumerate(prjs) if p.plasticity is not None}


def _float_init(p, w):
    r = p.plasticity
    mag = np.clip(np.abs(w), r.w_min, r.w_max)
    w[:] = np.sign(w + (p.receptor == "excitatory") - 0.5) * mag
    return {"mag": mag, "x": np.zeros(int(p.pre_idx.max()) + 1 + 64), "y": np.zeros(int(p.post_idx.max()) + 1 + 64)}


def _float_rule(dt):
    def step(p, s, w, pre_f, post_f):
        r = p.plasticity
        sign = -1.0 if p.receptor == "inhibitory" else 1.0
        mult = r.weight_dependence == "multiplicative"
        s["x"] *= math.exp(-dt / r.tau_plus)
        s["y"] *= math.exp(-dt / r.tau_minus)
        mag = s["mag"]
        for m in range(p.n_synapses):
            if int(p.pre_idx[m]) in pre_f:
                d = r.A_minus * ((mag[m] - r.w_min) if mult else r.w_max) * s["y"][p.post_idx[m]]
                mag[m] = min(max(mag[m] - d, r.w_min), r.w_max)
        for m in range(p.n_synapses):
            if int(p.post_idx[m]) in post_f:
                d = r.A_plus * ((r.w_max - mag[m]) if mult else r.w_max) * s["x"][p.pre_idx[m]]
                mag[m] = min(max(mag[m] + d, r.w_min), r.w_max)
        for j in pre_f:
            s["x"][j] += 1.0
        for i in post_f:
            s["y"][i] += 1.0
        w[:] = sign * mag
    return step


def _int_init(dt):
    def init(p, w):
        q = rule_params(p.plasticity, dt)
        W = np.clip(np.abs(w).astype(np.int64) << 8, q["w_min"], q["w_max"])
        sign = -1 if p.receptor == "inhibitory" else 1
        w[:] = sign * (W >> 8)
        return {"W": W, "q": q, "x": [0] * 600, "y": [0] * 300}
    return init


def _int_rule(p, s, w, pre_f, post_f):
    q, W = s["q"], s["W"]
    sign = -1 if p.receptor == "inhibitory" else 1
    s["x"] = [x - (x >> q["k_plus"]) for x in s["x"]]
    s["y"] = [y - (y >> q["k_minus"]) for y in s["y"]]
    for m in range(p.n_synapses):
        if int(p.pre_idx[m]) in pre_f:
            y = s["y"][p.post_idx[m]]
            if q["mult"]:
                d = ((int(W[m]) - q["w_min"]) * min((q["a_minus"] * y) >> 12, 1 << 15)) >> 15
            else:
                d = (q["a_minus"] * y) >> 12
            W[m] = max(int(W[m]) - d, q["w_min"])
    for m in range(p.n_synapses):
        if int(p.post_idx[m]) in post_f:
            x = s["x"][p.pre_idx[m]]
            if q["mult"]:
                d = ((q["w_max"] - int(W[m])) * min((q["a_plus"] * x) >> 12, 1 << 15)) >> 15
            else:
                d = (q["a_plus"] * x) >> 12
            W[m] = min(int(W[m]) + d, q["w_max"])
    for j in pre_f:
        s["x"][j] = min(s["x"][j] + 4096, 0xFFFF)
    for i in post_f:
        s["y"][i] = min(s["y"][i] + 4096, 0xFFFF)
    w[:] = sign * (W >> 8)


# ------------------------------------------------------------------ networks

def _fixed_net(seed: int, mult: bool, steps: int = 300) -> Network:
    rng = np.random.default_rng(seed)
    pops = []
    for k, size in enumerate((6, 5)):
        arr = {"th": np.full(size, 900), "reset": np.full(size, 0), "bias": np.full(size, 3),
               "k_leak": np.full(size, 4), "k_e": np.full(size, 2), "k_i": np.full(size, 2),
               "k_w": np.full(size, 3), "refrac": np.full(size, 2), "subtract": np.zeros(size),
               "no_leak": np.zeros(size), "v_init": rng.integers(-200, 200, size)}
        pops.append(FixedPopulation(f"p{k}", size, "fpga", arr, dict(PARAMS)))
    ev = np.unique(rng.integers(0, 8 * steps, 400))       # no neuron fires twice in one step
    src = StepSource("in", 8, ev % 8, ev // 8)
    wd = "multiplicative" if mult else "additive"
    rule = STDP(tau_plus=float(rng.uniform(5, 30)), tau_minus=float(rng.uniform(5, 30)),
                A_plus=float(rng.uniform(0.01, 0.2)), A_minus=float(rng.uniform(0.01, 0.2)),
                w_min=float(rng.integers(0, 10)), w_max=float(rng.integers(60, 128)), weight_dependence=wd)
    prjs = []
    for k, (pre, post, size_pre, size_post, rec, plastic) in enumerate(
            [("in", "p0", 8, 6, "excitatory", True), ("p0", "p1", 6, 5, "excitatory", True),
             ("p1", "p0", 5, 6, "inhibitory", True), ("in", "p1", 8, 5, "excitatory", False)]):
        a, b = np.nonzero(rng.random((size_pre, size_post)) < 0.6)
        wgt = rng.integers(0, 128, a.size) * (1 if rec == "excitatory" else -1)
        prjs.append(FixedProjection(f"j{k}", pre, post, a, b, wgt, rng.integers(1, 6, a.size), 8, rec,
                                    rule if plastic else None))
    return Network("stdp", 1.0, steps, pops, [src], prjs, stage="fixed", target="fpga")


def _float_net(seed: int, mult: bool, steps: int = 300) -> Network:
    rng = np.random.default_rng(seed)
    par = {k: np.full(10, v[0]) for k, v in MODEL_PARAMS["lif"].items()}
    par["v_thresh"][:] = -60.0
    pop = Population("out", 10, "lif", par, rng.uniform(-65, -60, 10))
    ev = np.unique(rng.integers(0, 12 * steps, 500))
    src = SpikeSource("in", 12, ev % 12, (ev // 12).astype(float))
    rule = STDP(tau_plus=15.0, tau_minus=25.0, A_plus=0.05, A_minus=0.04, w_min=0.1, w_max=2.0,
                weight_dependence="multiplicative" if mult else "additive")
    a, b = np.nonzero(rng.random((12, 10)) < 0.7)
    p1 = Projection("in_out", "in", "out", a, b, rng.uniform(0, 2.5, a.size), rng.integers(1, 4, a.size), plasticity=rule)
    c, d = np.nonzero(rng.random((10, 10)) < 0.3)
    p2 = Projection("rec", "out", "out", c, d, -rng.uniform(0, 1, c.size), np.full(c.size, 2.0),
                    receptor="inhibitory", plasticity=rule)
    return Network("stdpf", 1.0, steps, [pop], [src], [p1, p2])


# ------------------------------------------------------------------ tests

@pytest.mark.parametrize("mult", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fpga_rule_matches_the_naive_reference(seed, mult):
    net = _fixed_net(seed, mult)
    r = simulate(net, kernel=FpgaKernel(net))
    spikes, w = _naive(net, FpgaKernel(net), _int_rule, _int_init(net.dt))
    assert r.n_spikes > 50
    for t, s in enumerate(spikes):
        got = np.concatenate([r.dense("p0")[t], r.dense("p1")[t]])
        assert np.array_equal(np.flatnonzero(got), s), t
    assert set(r.weights) == {"j0", "j1", "j2"}
    for name, arr in w.items():
        assert np.array_equal(r.weights[name], arr), name
    changed = sum(int(np.count_nonzero(r.weights[p.name] != p.weight)) for p in net.projections[:3])
    assert changed > 10                    # the rule did something


@pytest.mark.parametrize("mult", [False, True])
def test_float_rule_matches_the_naive_reference(mult):
    from snncc.passes.discretise import discretise_network
    net = discretise_network(_float_net(5, mult))
    r = simulate(net)
    spikes, w = _naive(net, FloatKernel(net), _float_rule(net.dt), _float_init)
    for t, s in enumerate(spikes):
        assert np.array_equal(np.flatnonzero(r.dense("out")[t]), s), t
    for name, arr in w.items():
        np.testing.assert_allclose(r.weights[name], arr, rtol=1e-12, atol=1e-12)
    assert np.all(np.abs(r.weights["in_out"]) <= 2.0) and np.all(np.abs(r.weights["in_out"]) >= 0.1)
    assert np.all(r.weights["rec"] < 0)            # inhibitory stays inhibitory


def test_naive_reference_catches_a_wrong_rule():
    net = _fixed_net(1, False)
    r = simulate(net, kernel=FpgaKernel(net))

    def off_by_one(p, s, w, pre_f, post_f):
        _int_rule(p, s, w, pre_f, post_f)
        if post_f:
            s["W"][:] = np.minimum(s["W"] + 1, s["q"]["w_max"])
    _, w = _naive(net, FpgaKernel(net), off_by_one, _int_init(net.dt))
    assert not all(np.array_equal(r.weights[n], a) for n, a in w.items())


def _pair_net(dt_pair: int, stage_float: bool = True):
    """One input neuron and one post neuron driven to fire at step 50 by a strong input."""
    par = {k: np.array([v[0]]) for k, v in MODEL_PARAMS["lif_delta"].items()}
    pop = Population("post", 1, "lif_delta", par, np.array([-65.0]))
    src = SpikeSource("pre", 2, np.array([0, 1]), np.array([50.0 - dt_pair, 49.0]))
    rule = STDP(tau_plus=20.0, tau_minus=10.0, A_plus=0.1, A_minus=0.05, w_min=0.0, w_max=4.0)
    plastic = Projection("plastic", "pre", "post", np.array([0]), np.array([0]), np.array([1.0]),
                         np.array([1.0]), plasticity=rule)
    drive = Projection("drive", "pre", "post", np.array([1]), np.array([0]), np.array([30.0]), np.array([1.0]))
    return Network("pair", 1.0, 100, [pop], [src], [plastic, drive])


@pytest.mark.parametrize("dt_pair", [-7, -1, 0, 3, 12])
def test_one_pair_follows_the_exponential_window(dt_pair):
    net = _pair_net(dt_pair)
    r = simulate(net)
    assert r.spikes["post"][0].tolist() == [50]
    w = float(r.weights["plastic"][0])
    if dt_pair > 0:          # pre before post: potentiation
        assert w == pytest.approx(1.0 + 0.1 * 4.0 * math.exp(-dt_pair / 20.0), rel=1e-12)
    elif dt_pair < 0:        # post before pre: depression
        assert w == pytest.approx(1.0 - 0.05 * 4.0 * math.exp(dt_pair / 10.0), rel=1e-12)
    else:                    # same step: no pair
        assert w == 1.0


def test_static_networks_have_no_weights_and_keep_the_fused_path():
    net = _pair_net(3)
    static = net.with_(projections=[dataclasses.replace(p, plasticity=None) for p in net.projections])
    r = simulate(static)
    assert r.weights == {}
    assert np.array_equal(r.dense("post"), simulate(static, fused=False).dense("post"))


def test_decay_shift():
    assert decay_shift(20.0, 1.0) == 4          # 1 - exp(-1/20) = 0.049 ~ 2**-4.36
    assert decay_shift(1e6, 1.0) == 15
    assert decay_shift(0.1, 1.0) == 1


def test_quantise_sets_integer_bounds_and_leaves_room_for_w_max():
    from snncc.compiler import lower
    net = _pair_net(3)
    fixed = lower(net, "fpga").network
    prj = next(p for p in fixed.projections if p.name == "plastic")
    # w_max = 4.0 mV and the drive weight 30 mV share one power-of-two unit: 30 / 127 -> 0.25
    assert prj.plasticity.w_max == 16.0 and prj.plasticity.w_min == 0.0
    assert int(prj.weight[0]) == 4


def test_quantise_refuses_per_channel_scales_on_plastic_projections():
    from snncc.compiler import lower
    net = _float_net(5, False)
    strong = Projection("strong", "in", "out", np.array([0]), np.array([3]), np.array([20.0]), np.array([1.0]))
    net = net.with_(projections=list(net.projections) + [strong])   # neuron 3 gets a coarser unit
    with pytest.raises(SnnccError) as e:
        lower(net, "fpga", {"per_channel": True})
    assert e.value.message.startswith("projection 'in_out': a plastic projection needs one weight scale "
                                      "for all its synapses, but its scales range over [")
    assert e.value.hint == "leave out -O per_channel=true for networks with STDP"


class _NoRule(Kernel):
    name = "norule"
    accum_dtype = np.int64

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, 16)}

    def init_state(self):
        return {"v": np.zeros(self.n, np.int64)}

    def step(self, state, x):
        return np.zeros(0, np.int64)


def test_a_kernel_without_a_rule_refuses_plastic_networks():
    net = _fixed_net(1, False, steps=5)
    with pytest.raises(SnnccError) as e:
        simulate(net, kernel=_NoRule(net))
    assert e.value.message == ("projection 'j0' is plastic (STDP) but the norule kernel has no integer "
                               "STDP rule")


def test_learned_weights_survive_a_raster_file(tmp_path):
    from snncc.refsim import Raster
    r = simulate(_pair_net(3))
    back = Raster.load(r.save(tmp_path / "spikes.npz"))
    assert set(back.weights) == {"plastic"} and back.states == r.states
    assert np.array_equal(back.weights["plastic"], r.weights["plastic"])
    assert np.array_equal(back.dense("post"), r.dense("post"))
