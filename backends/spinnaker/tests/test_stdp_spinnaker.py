"""Pair STDP for sPyNNaker: the emitted STDPMechanism and the spinnaker kernel's integer rule."""
from __future__ import annotations

import math

import pytest

from snncc.errors import SnnccError
from snncc.ir import STDP

pytestmark = pytest.mark.spinnaker
stdp = pytest.importorskip("snncc_spinnaker.stdp", reason="the spinnaker backend is not installed")


def test_additive_amplitudes_become_absolute_weights():
    spec = stdp.stdp_spec(STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=2.0))
    assert spec == {"timing": "SpikePairRule", "tau_plus": 16.8, "tau_minus": 33.7, "A_plus": 0.02,
                    "A_minus": 0.024, "weight_dependence": "AdditiveWeightDependence", "w_min": 0.0, "w_max": 2.0}


def test_multiplicative_amplitudes_stay_fractions():
    spec = stdp.stdp_spec(STDP(A_plus=0.05, A_minus=0.04, w_max=3.0, weight_dependence="multiplicative"))
    assert (spec["A_plus"], spec["A_minus"], spec["weight_dependence"]) == (0.05, 0.04,
                                                                           "MultiplicativeWeightDependence")


def test_an_unknown_weight_dependence_is_refused():
    with pytest.raises(SnnccError) as e:
        stdp.stdp_spec(STDP(weight_dependence="gutig"))
    assert e.value.message == ("STDP weight dependence 'gutig' has no sPyNNaker counterpart "
                               "(have additive, multiplicative)")


def test_the_mechanism_is_built_from_pynn_classes():
    from types import SimpleNamespace

    def rec(kind):
        return lambda **kw: (kind, kw)
    sim = SimpleNamespace(SpikePairRule=rec("pair"), AdditiveWeightDependence=rec("add"),
                          MultiplicativeWeightDependence=rec("mul"), STDPMechanism=rec("stdp"))
    spec = stdp.stdp_spec(STDP(tau_plus=10.0, tau_minus=12.0, A_plus=0.01, A_minus=0.02, w_max=2.0))
    assert stdp.synapse_dynamics(sim, spec) == ("stdp", {
        "timing_dependence": ("pair", {"tau_plus": 10.0, "tau_minus": 12.0, "A_plus": 0.02, "A_minus": 0.04}),
        "weight_dependence": ("add", {"w_min": 0.0, "w_max": 2.0})})


# ------------------------------------------------ the spinnaker kernel's integer rule (sPyNNaker C)

def _kernel_modules():
    pytest.importorskip("spynnaker")
    from snncc_spinnaker import stdp_kernel
    from snncc_spinnaker.kernel import SpinnakerKernel
    return stdp_kernel, SpinnakerKernel


def _lif(name, size, **over):
    import numpy as np
    from snncc.ir import MODEL_PARAMS, Population
    params = {k: np.full(size, float(over.get(k, d))) for k, (d, _) in MODEL_PARAMS["lif"].items()}
    return Population(name, size, "lif", params, np.full(size, -65.0))


def _pair(dt_pair, mult=False, w0=(1.0,), w_max=4.0):
    """Input neuron k (k < len(w0)) spikes at 50 - dt_pair into a plastic synapse of weight
    w0[k] onto post neuron k; a strong drive makes every post neuron fire at step 50."""
    import numpy as np
    from snncc.compiler import lower
    from snncc.ir import Network, Projection, SpikeSource
    n = len(w0)
    rule = STDP(tau_plus=20.0, tau_minus=10.0, A_plus=0.1, A_minus=0.05, w_min=0.0, w_max=w_max,
                weight_dependence="multiplicative" if mult else "additive")
    src = SpikeSource("pre", n + 1, np.r_[np.arange(n), [n] * 1], np.r_[[50.0 - dt_pair] * n, [49.0]])
    plastic = Projection("plastic", "pre", "post", np.arange(n), np.arange(n), np.array(w0, float),
                         np.ones(n), plasticity=rule)
    drive = Projection("drive", "pre", "post", np.full(n, n), np.arange(n), np.full(n, 20.0), np.ones(n))
    post = _lif("post", n, tau_refrac=40.0)     # one spike at 50, none from the late pre spike
    return lower(Network("pair", 1.0, 100, [post], [src], [plastic, drive]), "spinnaker").network


def _run(fx, full=False):
    """The raster (learned routed weights in ``weights``); with ``full``, also the s16.15 weights."""
    from snncc.refsim import simulate
    _, K = _kernel_modules()

    class Keep(K):
        def plasticity(self, net, wiring):
            self.hook = super().plasticity(net, wiring)
            return self.hook
    k = Keep(fx)
    r = simulate(fx, kernel=k)
    return (r, k.hook.full_weights()) if full else r


def test_exp_lut_is_spynnakers():
    import numpy as np
    sk, _ = _kernel_modules()
    from spynnaker.pyNN.models.neuron.plasticity.stdp.common import get_exp_lut_array
    for tau in (10.0, 16.8, 20.0, 33.7):
        ref = get_exp_lut_array(1.0, tau).view(np.uint16)
        assert ref[0] == ref.size - 2 and ref[1] == 0
        assert np.array_equal(sk.exp_lut(1.0, tau), ref[2:].astype(np.int64))


@pytest.mark.parametrize("mult", [False, True])
@pytest.mark.parametrize("dt_pair", [-7, -1, 0, 3, 12])
def test_one_pair_gives_the_lut_derived_change(dt_pair, mult):
    fx = _pair(dt_pair, mult)
    r, full = _run(fx, full=True)
    assert r.spikes["post"][0].tolist() == [50]
    shift = int(fx.populations[0].params["shift_E"][0])
    q0 = int(next(p for p in fx.projections if p.name == "plastic").weight[0])
    W, wmax = q0 << shift, round(4.0 * 2 ** 15)
    d = abs(dt_pair)
    if dt_pair > 0:     # pre trace 2048 decayed over d steps, then a2_plus * (r << 4) >> 15
        tr = math.floor(math.exp(-d / 20.0) * 2048) * 2048 >> 11
        a = round(0.1 * (1.0 if mult else 4.0) * 2 ** 15)
        scale = ((wmax - W) * a) >> 15 if mult else a
        W = min(W + ((scale * (tr << 4)) >> 15), wmax)
    elif dt_pair < 0:
        tr = math.floor(math.exp(-d / 10.0) * 2048) * 2048 >> 11
        a = round(0.05 * (1.0 if mult else 4.0) * 2 ** 15)
        scale = (W * a) >> 15 if mult else a
        W = max(W - ((scale * (tr << 4)) >> 15), 0) if not mult else W - ((scale * (tr << 4)) >> 15)
    assert int(full["plastic"][0]) == W            # every bit of the s16.15 weight
    assert int(r.weights["plastic"][0]) == W >> shift
    assert (int(r.weights["plastic"][0]) > q0) == (dt_pair > 0)
    assert (int(r.weights["plastic"][0]) < q0) == (dt_pair < 0)


def test_additive_steps_are_weight_independent_multiplicative_scale_with_room():
    """The sources: additive adds a2_plus * trace whatever the weight; multiplicative scales
    by (w_max - w) (potentiation) and (w - w_min) (depression)."""
    import numpy as np
    w0 = (0.5, 1.0, 2.0, 3.0)
    for dt_pair, sign in ((3, 1), (-3, -1)):
        add, mul = _pair(dt_pair, False, w0), _pair(dt_pair, True, w0)
        q0 = next(p for p in add.projections if p.name == "plastic").weight.astype(np.int64)
        da = _run(add).weights["plastic"].astype(np.int64) - q0
        dm = _run(mul).weights["plastic"].astype(np.int64) - q0
        assert np.all(np.sign(da) == sign) and np.all(np.sign(dm) == sign)
        assert np.ptp(da) <= 1                             # equal up to the final shift's truncation
        room = (4.0 - np.array(w0)) if sign > 0 else np.array(w0)
        assert np.all(np.diff(np.abs(dm)) * np.diff(room) > 0)     # more room, larger step


def _poisson(mult, seed=3, steps=2000):
    import numpy as np
    from snncc.ir import Network, Projection, SpikeSource
    rng = np.random.default_rng(seed)
    n_in, n_out = 40, 4
    t = np.nonzero(rng.random((steps, n_in)) < 0.02)
    src = SpikeSource("in", n_in, t[1], t[0].astype(float))
    a, b = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
    rule = STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=1.5,
                weight_dependence="multiplicative" if mult else "additive")
    prj = Projection("in_out", "in", "out", a.ravel(), b.ravel(), rng.uniform(0.3, 1.2, a.size),
                     rng.integers(1, 4, a.size).astype(float), plasticity=rule)
    return Network("poisson", 1.0, steps, [_lif("out", n_out)], [src], [prj])


@pytest.mark.parametrize("mult", [False, True])
def test_weights_stay_in_bounds_and_track_the_float_rule(mult):
    import numpy as np
    from snncc.compiler import lower
    from snncc.refsim import simulate
    net = _poisson(mult)
    fx = lower(net, "spinnaker").network
    shift = int(fx.populations[0].params["shift_E"][0])
    q = _run(fx).weights["in_out"].astype(np.int64)
    lo, hi = 0, round(1.5 * 2 ** 15) >> shift
    assert q.min() >= lo and q.max() <= hi
    wf = simulate(net).weights["in_out"]
    wx = q * 2.0 ** (shift - 15)
    w0 = net.projections[0].weight
    assert np.sign(np.mean(wf - w0)) == np.sign(np.mean(wx - w0))
    assert np.corrcoef(wf - w0, wx - w0)[0, 1] > 0.8
    assert np.abs(wx - wf).mean() < 0.1 * np.abs(wf - w0).mean() + 0.01


@pytest.mark.parametrize("mult", [False, True])
def test_the_kernel_runs_every_rule_the_emitter_accepts(mult):
    """Excitatory and inhibitory plastic projections: stdp_spec accepts them, the kernel runs them."""
    import dataclasses

    import numpy as np
    net = _poisson(mult, steps=300)
    inh = dataclasses.replace(net.projections[0], name="inh", receptor="inhibitory",
                              weight=-0.2 * np.ones(net.projections[0].n_synapses))
    net = net.with_(projections=[net.projections[0], inh])
    from snncc.compiler import lower
    fx = lower(net, "spinnaker").network
    for p in fx.projections:
        stdp.stdp_spec(p.plasticity)
    r = _run(fx)
    assert set(r.weights) == {"in_out", "inh"}
    assert np.all(r.weights["inh"] >= 0)    # magnitudes; the receptor carries the sign
