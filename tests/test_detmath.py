"""snncc.detmath: correctly rounded, and the same bits whatever numpy's CPU dispatch picks."""
import dataclasses
import json
import os
import subprocess
import sys

import mpmath
import numpy as np
import pytest

from snncc import detmath


def same_bits(a, b) -> bool:
    """Bit-for-bit equality of two float64 arrays (NaNs equal, 0.0 and -0.0 not)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


def test_same_bits_sees_one_ulp():
    x = np.linspace(0.1, 1.0, 7)
    y = x.copy()
    y[3] = np.nextafter(y[3], 2.0)
    assert same_bits(x, x.copy())
    assert not same_bits(x, y)


ARGS = np.concatenate([-np.random.default_rng(5).uniform(1e-4, 5.0, 400), [-1e-300, -700.0, 0.0, 1e-9]])


def _ref(fn, xs):
    with mpmath.workdps(60):
        return np.array([float(fn(mpmath.mpf(float(x)))) for x in xs])


def test_exp_log_are_correctly_rounded():
    assert same_bits(detmath.exp(ARGS), _ref(mpmath.exp, ARGS))
    pos = -ARGS[ARGS < 0]
    assert same_bits(detmath.log(pos), _ref(mpmath.log, pos))
    assert same_bits(detmath.log2(pos), _ref(lambda v: mpmath.log(v, 2), pos))
    small = np.array([-0.5, -1e-9, 1e-17, 3e-300, 0.25, 7.0])
    assert same_bits(detmath.log1p(small), _ref(lambda v: mpmath.log1p(v), small))


def test_special_values_and_shapes():
    assert detmath.log2(np.array([1.0, 2.0, 1024.0, 2.0 ** -30])).tolist() == [0.0, 1.0, 10.0, -30.0]
    assert detmath.exp(np.array([np.inf, -np.inf, 1e4, -1e4])).tolist() == [np.inf, 0.0, np.inf, 0.0]
    assert np.isnan(detmath.log(-1.0)) and detmath.log(0.0) == -np.inf
    assert detmath.exp(np.zeros((2, 3))).shape == (2, 3)
    assert isinstance(detmath.exp(0.5), np.floating)


_CHILD = """
import json, numpy as np
from snncc import detmath
from snncc.frontends import load_model
from snncc.passes.discretise import discretise_network
x = np.load({path!r})
net = discretise_network(load_model("examples/cuba.yaml"))
coef = {{k: v.tolist() for k, v in net.populations[0].coef.items() if v.dtype.kind == "f"}}
print(json.dumps({{"det": detmath.exp(x).view(np.int64).tolist(), "np": np.exp(x).view(np.int64).tolist(),
                  "coef": coef}}))
"""


def _child(tmp_path, env_extra):
    path = tmp_path / "x.npy"
    np.save(path, ARGS)
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", _CHILD.format(path=str(path))], capture_output=True,
                         text=True, env=env, cwd=os.path.dirname(os.path.dirname(__file__)), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_results_do_not_depend_on_numpys_cpu_dispatch(tmp_path):
    from numpy.core._multiarray_umath import __cpu_features__ as feats
    simd = sorted(f for f, on in feats.items() if on and f.startswith(("AVX512", "AVX2", "FMA3")))
    if not simd:
        pytest.skip("no AVX2/AVX512 dispatch on this CPU to switch off")
    fast = _child(tmp_path, {})
    plain = _child(tmp_path, {"NPY_DISABLE_CPU_FEATURES": " ".join(simd)})
    assert fast["det"] == plain["det"]
    assert fast["coef"] == plain["coef"]        # discretise's coefficients of examples/cuba.yaml
    if any(f.startswith("AVX512") for f in simd):
        # what detmath is for: numpy's own exp gives other bits once its AVX512 path is off
        assert fast["np"] != plain["np"]


def _libm_off(monkeypatch):
    """Every libm/numpy exp and log raises: a float result that still comes out was not theirs."""
    import math

    def boom(*a, **k):
        raise AssertionError("libm/numpy exp or log called where snncc.detmath is required")
    for mod, names in ((math, ("exp", "log", "log2", "log1p", "expm1")),
                       (np, ("exp", "log", "log2", "log1p", "expm1", "exp2"))):
        for n in names:
            monkeypatch.setattr(mod, n, boom)


def test_refsim_stdp_and_int_lowering_take_exp_and_log_from_detmath(monkeypatch):
    """The float STDP rule's trace decays and the example integer kernel's shifts feed rasters:
    they come from detmath (the same on every CPU), never from libm or numpy's SIMD exp/log."""
    from snncc.ir import MODEL_PARAMS, STDP, Network, Population, Projection, SpikeSource
    from snncc.passes.discretise import discretise_network
    from snncc.refsim import simulate
    from snncc.refsim.int_kernel import IntExampleKernel, lower
    from snncc.refsim.plasticity import FloatSTDP

    rng = np.random.default_rng(3)
    par = {k: np.full(10, v[0]) for k, v in MODEL_PARAMS["lif"].items()}
    par["v_thresh"][:] = -60.0
    par["tau_m"] = rng.choice([7.0, 13.0, 20.0, 33.0], 10)     # several shifts, one near a .5 boundary
    ev = np.unique(rng.integers(0, 12 * 200, 400))
    rule = STDP(tau_plus=15.0, tau_minus=25.0, A_plus=0.05, A_minus=0.04, w_min=0.1, w_max=2.0)
    a, b = np.nonzero(rng.random((12, 10)) < 0.7)
    net = discretise_network(Network(
        "det", 1.0, 200, [Population("out", 10, "lif", par, rng.uniform(-65, -60, 10))],
        [SpikeSource("in", 12, ev % 12, (ev // 12).astype(float))],
        [Projection("in_out", "in", "out", a, b, rng.uniform(0, 2.5, a.size), rng.integers(1, 4, a.size),
                    plasticity=rule)]))
    static = net.with_(projections=tuple(dataclasses.replace(p, plasticity=None) for p in net.projections))
    ref = simulate(net, engine="compiled")                # compiles (numba) before libm goes away
    simulate(lower(static), kernel=IntExampleKernel(lower(static)), engine="compiled")

    seen = {}
    setup = FloatSTDP.setup

    def spy(self):
        setup(self)
        seen["decays"] = [(s[3], s[4]) for s in self.state]
    monkeypatch.setattr(FloatSTDP, "setup", spy)
    _libm_off(monkeypatch)
    r = simulate(net, engine="compiled")
    fx = lower(static)
    monkeypatch.undo()

    assert seen["decays"] == [(float(detmath.exp(-1.0 / 15.0)), float(detmath.exp(-1.0 / 25.0)))]
    assert np.array_equal(r.spikes["out"][0], ref.spikes["out"][0]) and r.n_spikes > 10
    assert np.array_equal(r.weights["in_out"], ref.weights["in_out"])
    c = net.populations[0].coef
    tau_m = -1.0 / detmath.log(np.minimum(c["decay_v"], 1 - 1e-12))
    want = np.clip(np.round(detmath.log2(tau_m)), 0, 30).astype(np.int64)
    assert np.array_equal(fx.populations[0].params["shift_v"], want)
    assert len(set(want.tolist())) > 1


def test_the_libm_guard_sees_a_libm_call(monkeypatch):
    """The guard above can fail: a float decay taken from math.exp trips it."""
    import math
    _libm_off(monkeypatch)
    with pytest.raises(AssertionError, match="detmath is required"):
        math.exp(-0.1)
    with pytest.raises(AssertionError, match="detmath is required"):
        np.log(np.array([0.5]))
