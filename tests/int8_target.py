"""A small integer test target for the lowering-pass tests: 8-bit signed weights,
an integer LIF with Q16 multiply-shift decays, registered in-process.

Per step (all integers, v in units of ``v_lsb``, currents in ``w_unit / 2**S``)::

    iE += xE << S; iI += xI << S             (exp)
    if r > 0: r -= 1
    else: v = rnd(v*dv) + rnd(gE*iE) + rnd(gI*iI) + bias   (+ (xE+xI) << S if delta)
    iE = rnd(iE*dE); iI = rnd(iI*dI)

with ``rnd(a) = (a + 2**15) >> 16`` (round to nearest: a floor would bias negative
inhibitory currents away from zero).
    if v >= vth: spike, v = 0, r = refrac      (v is stored relative to v_reset)
"""
from __future__ import annotations

import numpy as np

from snncc import targets
from snncc.refsim import kernels
from snncc.errors import SnnccError
from snncc.ir import FixedPopulation
from snncc.passes.pipeline import STANDARD_OPTIONS
from snncc.refsim.kernel import Kernel, StateVar
from snncc.targets import Limits, Target, WeightFormat

S = 6          # fraction bits of currents and delta input
Q = 16         # fraction bits of decays and gains
V_BITS = 32


def _rnd(a: np.ndarray) -> np.ndarray:
    return (a + (1 << (Q - 1))) >> Q


def lower(pop, w_unit) -> FixedPopulation:
    c = {k: np.asarray(v, dtype=np.float64) for k, v in pop.coef.items()}
    w_unit = np.asarray(w_unit, dtype=np.float64)
    off = c["v_reset"]
    if pop.synapse == "exp":
        g = np.maximum(np.abs(c["gain_E"]), np.abs(c["gain_I"]))
        g = np.where(g > 0, g, 1.0)
        v_lsb = w_unit * g / 2 ** S
        ge, gi = np.rint(c["gain_E"] / g * 2 ** Q), np.rint(c["gain_I"] / g * 2 ** Q)
    else:
        v_lsb = w_unit / 2 ** S
        ge = gi = np.zeros(pop.size)
    params = {
        "dv": np.rint(c["decay_v"] * 2 ** Q), "dE": np.rint(c["decay_E"] * 2 ** Q),
        "dI": np.rint(c["decay_I"] * 2 ** Q), "gE": ge, "gI": gi,
        "bias": np.rint((c["bias"] - off * (1.0 - c["decay_v"])) / v_lsb),
        "vth": np.ceil((c["v_thresh"] - off) / v_lsb - 1e-9),
        "v_init": np.rint((c["v_init"] - off) / v_lsb),
        "refrac": c["refrac"], "delta": np.full(pop.size, float(pop.synapse == "delta")),
    }
    top = (1 << (V_BITS - 1)) - 1
    if pop.size and np.abs(params["vth"]).max() > top:
        k = int(np.argmax(np.abs(params["vth"])))
        raise SnnccError(f"population '{pop.name}': threshold {int(params['vth'][k])} (neuron {k}) "
                         f"exceeds the {V_BITS}-bit membrane range [{-top - 1}, {top}]", pop.loc,
                         hint="weights are tiny next to the threshold gap; use clip_percentile")
    widths = {"dv": 17, "dE": 17, "dI": 17, "gE": 18, "gI": 18, "bias": V_BITS, "vth": V_BITS,
              "v_init": V_BITS, "refrac": 8, "delta": 1}
    return FixedPopulation(pop.name, pop.size, "int8lif", params, widths, pop.record, pop.loc)


class Int8Kernel(Kernel):
    name = "int8lif"
    accum_dtype = np.int64
    stage = "fixed"

    def __init__(self, net, strict=False):
        super().__init__(net, strict)
        self.p = {k: self.concat(k) for k in ("dv", "dE", "dI", "gE", "gI", "bias", "vth", "v_init",
                                             "refrac", "delta")}
        self.delta = self.p["delta"].astype(bool)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, V_BITS), "i_E": StateVar("i_E", np.int64),
                "i_I": StateVar("i_I", np.int64), "refrac": StateVar("refrac", np.int64)}

    def init_state(self):
        z = np.zeros(self.n, dtype=np.int64)
        return {"v": self.p["v_init"].copy(), "i_E": z.copy(), "i_I": z.copy(), "refrac": z.copy()}

    def step(self, state, x):
        p, v, ie, ii, r = self.p, state["v"], state["i_E"], state["i_I"], state["refrac"]
        ex = ~self.delta
        ie += np.where(ex, x[0] << S, 0)
        ii += np.where(ex, x[1] << S, 0)
        active = r <= 0
        new = _rnd(v * p["dv"]) + _rnd(p["gE"] * ie) + _rnd(p["gI"] * ii) + p["bias"] \
            + np.where(self.delta, (x[0] + x[1]) << S, 0)
        v[:] = np.where(active, new, v)
        r[:] = np.where(active, r, r - 1)
        self.check_width("v", v)
        ie[:] = _rnd(ie * p["dE"])
        ii[:] = _rnd(ii * p["dI"])
        spk = np.flatnonzero(v >= p["vth"])
        v[spk] = 0
        r[spk] = p["refrac"][spk]
        return spk.astype(np.int64)


class Int8Target(Target):
    name = "int8test"
    description = "8-bit test target of the pass tests"
    weight_format = WeightFormat(bits=8, signed=True)
    options = dict(STANDARD_OPTIONS)

    def __init__(self, limits: Limits | None = None, weight_format: WeightFormat | None = None):
        self.limits = limits or Limits(weight_bits=8)
        if weight_format is not None:
            self.weight_format = weight_format

    def pipeline(self, options):
        from snncc.passes import standard_pipeline
        return standard_pipeline(self, options)

    def kernel(self, net, strict=False):
        return Int8Kernel(net, strict)

    def lower_population(self, pop, w_unit):
        return lower(pop, w_unit)


def register(monkeypatch, target: Target) -> Target:
    """Make ``target`` what ``snncc.targets.get(target.name)`` returns for one test."""
    monkeypatch.setitem(targets._cache, target.name, target)
    monkeypatch.setitem(kernels._FACTORIES, target.name, target.kernel)   # as targets.get does
    return target
