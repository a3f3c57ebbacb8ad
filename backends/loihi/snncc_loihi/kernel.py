"""The ``loihi`` numerics kernel: Lava 0.10's bit-accurate LIF and Dense, in int64.

Per step, for every neuron (``x`` = the summed ``weight << weight_exp`` arriving now;
the engine's timing contract already holds Dense's step and the DelayDense delay)::

    u = wrap32(rz(u * (4096 - du - 1)) + (x << 6))       rz(p) = sign(p) * (|p| >> 12)
    if u > 2**23: u -= 2**24  elif u <= -2**23: u += 2**24
    v = clip(wrap32(rz(v * (4096 - dv)) + u + (bias_mant << bias_exp)), -(2**23 - 1), 2**23 - 1)
    spike = v > vth << 6;  v[spike] = 0                  (u is not reset; no refractory period)

``wrap32`` is the int32 arithmetic of Lava's process models (an int32 channel, an int32
sum in the port, an int32 shift); it only matters for inputs no sane network produces,
but the kernel follows it so the two never part. Dense's ``<< weight_exp`` is folded
into the synaptic weight: snncc uses weight_exp >= 0 only, where shifting the sum and
summing the shifted weights agree (docs/loihi-numerics.md).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from snncc.refsim.loop import deliver_part, gather, room, slot_of
from snncc.refsim.kernel import Kernel, OverflowInKernel, StateVar

from . import limits as L

PARAMS = ("du", "dv", "vth", "bias_mant", "bias_exp", "v_init")


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(a):
    return ((a + 2147483648) & 4294967295) - 2147483648


@numba.njit(cache=True, nogil=True, inline="always")
def _rz12(p):
    return (p >> 12) if p >= 0 else -((-p) >> 12)


@numba.njit(cache=True, nogil=True)
def _update(m, xe, xi, u, v, fu, fv, vth6, bias, fired, wrapped):
    # neurons 0..m-1 of slices (indices from 0: numba emits no negative-index wraparound)
    top = 1 << 23
    for k in range(m):
        a = xe[k] + xi[k]
        dc = _wrap32(_rz12(u[k] * fu[k]) + _wrap32(_wrap32(a) << 6))
        if dc > top:
            u[k] = dc - 2 * top
            wrapped[0] += 1
        elif dc <= -top:
            u[k] = dc + 2 * top
            wrapped[0] += 1
        else:
            u[k] = dc
        nv = _wrap32(_rz12(v[k] * fv[k]) + u[k] + bias[k])
        if nv > top - 1:
            nv = top - 1
        elif nv < -(top - 1):
            nv = -(top - 1)
        spike = nv > vth6[k]
        fired[k] = spike
        v[k] = 0 if spike else nv


@numba.njit(cache=True, nogil=True)
def _compact(lo, fired, out):
    n_spk = 0
    for k in range(fired.shape[0]):
        if fired[k]:
            out[n_spk] = lo + k
            n_spk += 1
    return n_spk


@numba.njit(cache=True, nogil=True)
def _step(u, v, x, fu, fv, vth6, bias, fired, out, wrapped):
    """One step of every neuron (``x`` of shape (2, n)); the per-step path."""
    _update(v.shape[0], x[0], x[1], u, v, fu, fv, vth6, bias, fired, wrapped)
    return _compact(0, fired, out)


@numba.njit(cache=True, nogil=True)
def _part(p, t, ring, route, src, buf, rec, err, K):
    u, v, fu, fv, vth6, bias, fired = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    _update(hi - lo, xe, xi, u[lo:hi], v[lo:hi], fu[lo:hi], fv[lo:hi], vth6[lo:hi], bias[lo:hi],
            fired[lo:hi], err[p])
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = _compact(lo, fired[lo:hi], spk[t & 1, p])
    ptr, code, idx, out, t_base = rec
    for m in range(ptr[p], ptr[p + 1]):
        k = idx[m]
        out[t - t_base, m] = v[k] if code[m] == 0 else u[k]


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K):
    n_ev = 0
    cap = room(ev, route)
    for t in range(t0, t1):
        if n_ev > cap:
            return t, n_ev, 0
        for p in prange(buf[0].shape[0] - 1):
            _part(p, t, ring, route, src, buf, rec, err, K)
        n_ev = gather(t, buf, ev, n_ev)
    return t1, n_ev, 0


@numba.njit(cache=True, nogil=True)
def _run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    n_ev = 0
    cap = room(ev, route)
    for t in range(t0, t1):
        if n_ev > cap:
            return t, n_ev, 0
        for p in range(buf[0].shape[0] - 1):
            _part(p, t, ring, route, src, buf, rec, err, K)
        n_ev = gather(t, buf, ev, n_ev)
    return t1, n_ev, 0


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
        p = {k: self.concat(k) for k in PARAMS}
        self._fu = (1 << L.DECAY_BITS) - (p["du"] + 1)
        self._fv = (1 << L.DECAY_BITS) - p["dv"]
        self._vth6 = p["vth"] << L.VTH_SHIFT
        self._bias = effective_bias(p["bias_mant"], p["bias_exp"])
        self._v0 = p["v_init"]
        self._wexp = dict(net.attrs.get("loihi", {}).get("weight_exp", {}))
        self._out = np.empty(self.n, dtype=np.int64)
        self._fired = np.zeros(self.n, dtype=np.bool_)
        self._wrapped = np.zeros(1, dtype=np.int64)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, L.UV_BITS), "u": StateVar("u", np.int64, L.UV_BITS)}

    def init_state(self):
        return {"v": self._v0.copy(), "u": np.zeros(self.n, dtype=np.int64)}

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
        n = _step(state["u"], state["v"], x, self._fu, self._fv, self._vth6, self._bias, self._fired,
                  self._out, self._wrapped)
        self._check(state)
        return self._out[:n].copy()

    def compiled(self, state):
        if self.strict:
            return None       # per-step path, so an overflow is reported at its step
        K = (state["u"], state["v"], self._fu, self._fv, self._vth6, self._bias, self._fired)

        def run(parallel, *args):
            return (_run_par if parallel else _run_seq)(*args, K)
        return run
