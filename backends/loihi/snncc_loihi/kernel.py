"""The ``loihi`` numerics kernel: Lava 0.10's bit-accurate LIF and Dense, in int64.

Per step, for every neuron (``x`` = the summed ``weight << weight_exp`` arriving now;
the engine's timing contract already holds Dense's step and the DelayDense delay)::

    u = wrap32(rz(u * (4096 - du - 1)) + (x << 6))       rz(p) = sign(p) * (|p| >> 12)
    if u > 2**23: u -= 2**24  elif u <= -2**23: u += 2**24
    if r > 0: r -= 1                                     (refractory: v held, u integrates)
    else: v = clip(wrap32(rz(v * (4096 - dv)) + u + (bias_mant << bias_exp)), -(2**23 - 1), 2**23 - 1)
    spike = v > vth << 6;  v[spike] = 0;  r[spike] = refrac          (u is not reset)

The refractory rule is that of Lava's ``LIFRefractory`` (``refractory_period_end <
time_step`` lets v integrate), realised in fixed point by ``lava_net.py``'s
``PyLifRefractoryModelBitAcc``; ``refrac = 0`` is Lava's plain LIF.

``wrap32`` is the int32 arithmetic of Lava's process models (an int32 channel, an int32
sum in the port, an int32 shift); it only matters for inputs no sane network produces,
but the kernel follows it so the two never part. Dense's ``<< weight_exp`` is folded
into the synaptic weight: snncc uses weight_exp >= 0 only, where shifting the sum and
summing the shifted weights agree (docs/loihi-numerics.md).
"""
from __future__ import annotations

import numba
import numpy as np

from snncc.refsim.engine import deliver
from snncc.refsim.kernel import Kernel, OverflowInKernel, StateVar

from . import limits as L

PARAMS = ("du", "dv", "vth", "bias_mant", "bias_exp", "v_init", "refrac")


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(a):
    return ((a + 2147483648) & 4294967295) - 2147483648


@numba.njit(cache=True, nogil=True, inline="always")
def _rz12(p):
    return (p >> 12) if p >= 0 else -((-p) >> 12)


@numba.njit(cache=True, nogil=True)
def _step(u, v, r, x, fu, fv, vth6, bias, refrac, out, wrapped):
    n_spk = 0
    top = 1 << 23
    for k in range(v.shape[0]):
        a = x[0, k] + x[1, k]
        dc = _wrap32(_rz12(u[k] * fu[k]) + _wrap32(_wrap32(a) << 6))
        if dc > top:
            u[k] = dc - 2 * top
            wrapped[0] += 1
        elif dc <= -top:
            u[k] = dc + 2 * top
            wrapped[0] += 1
        else:
            u[k] = dc
        if r[k] > 0:
            r[k] -= 1
            nv = v[k]
        else:
            nv = _wrap32(_rz12(v[k] * fv[k]) + u[k] + bias[k])
            if nv > top - 1:
                nv = top - 1
            elif nv < -(top - 1):
                nv = -(top - 1)
        if nv > vth6[k]:
            out[n_spk] = k
            n_spk += 1
            nv = 0
            r[k] = refrac[k]
        v[k] = nv
    return n_spk


@numba.njit(cache=True, nogil=True)
def _run(t0, t1, ring, routing, ev_s, ev_i, n_ev, u, v, r, fu, fv, vth6, bias, refrac, out, wrapped):
    depth = ring.shape[0]
    for t in range(t0, t1):
        n_spk = _step(u, v, r, ring[t % depth], fu, fv, vth6, bias, refrac, out, wrapped)
        ev_s, ev_i, n_ev = deliver(ring, t, out, n_spk, routing, ev_s, ev_i, n_ev)
    return ev_s, ev_i, n_ev


def effective_bias(bias_mant: np.ndarray, bias_exp: np.ndarray) -> np.ndarray:
    """Lava's ``scale_bias``: mantissa shifted left (right for a negative exponent)."""
    m, e = np.asarray(bias_mant, np.int64), np.asarray(bias_exp, np.int64)
    return np.where(e >= 0, m << np.maximum(e, 0), m >> np.maximum(-e, 0))


class LoihiKernel(Kernel):
    name = "loihi"
    accum_dtype = np.int64
    stage = "fixed"

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        # builds lowered before refractory periods were realised have no ``refrac``: none
        p = {k: self.concat(k) if k != "refrac" or all(k in q.params for q in net.populations)
             else np.zeros(self.n, np.int64) for k in PARAMS}
        self._fu = (1 << L.DECAY_BITS) - (p["du"] + 1)
        self._fv = (1 << L.DECAY_BITS) - p["dv"]
        self._vth6 = p["vth"] << L.VTH_SHIFT
        self._bias = effective_bias(p["bias_mant"], p["bias_exp"])
        self._v0 = p["v_init"]
        self._refrac = p["refrac"]
        self._wexp = dict(net.attrs.get("loihi", {}).get("weight_exp", {}))
        self._out = np.empty(self.n, dtype=np.int64)
        self._wrapped = np.zeros(1, dtype=np.int64)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, L.UV_BITS), "u": StateVar("u", np.int64, L.UV_BITS),
                "refrac": StateVar("refrac", np.int64, L.REFRAC_BITS, False)}

    def init_state(self):
        return {"v": self._v0.copy(), "u": np.zeros(self.n, dtype=np.int64),
                "refrac": np.zeros(self.n, dtype=np.int64)}

    def synapse_weights(self, prj) -> np.ndarray:
        return np.asarray(prj.weight, np.int64) << int(self._wexp.get(prj.name, 0))

    def _check(self, state):
        if self.strict and self._wrapped[0]:
            self._wrapped[0] = 0
            bad = int(np.argmax(np.abs(state["u"])))
            pop, idx = self.locate(bad)
            raise OverflowInKernel(
                f"loihi kernel: the current u of neuron {idx} in '{pop}' wrapped around its "
                f"{L.UV_BITS}-bit range", hint="lower the weights (or -O headroom_bits), or run "
                "without --strict to wrap as Loihi does")

    def step(self, state, x):
        n = _step(state["u"], state["v"], state["refrac"], x, self._fu, self._fv, self._vth6, self._bias,
                  self._refrac, self._out, self._wrapped)
        self._check(state)
        return self._out[:n].copy()

    def run_steps(self, state, ring, t0, t1, routing, events):
        if self.strict:
            return None       # per-step path, so an overflow is reported at its step
        return _run(t0, t1, ring, routing, *events, state["u"], state["v"], state["refrac"], self._fu,
                    self._fv, self._vth6, self._bias, self._refrac, self._out, self._wrapped)
