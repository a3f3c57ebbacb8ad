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

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import (
    STEP, Kernel, OverflowInKernel, StateVar, compact, deliver_part, fired_flags, param_runs, record_part,
    runner, slot_of, steps_seq, steps_team,
)

from . import limits as L

PARAMS = ("du", "dv", "vth", "bias_mant", "bias_exp", "v_init", "refrac")


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(a):
    return ((a + 2147483648) & 4294967295) - 2147483648


@numba.njit(cache=True, nogil=True, inline="always")
def _rz12(p):
    return (p >> 12) if p >= 0 else -((-p) >> 12)


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(m, xe, xi, u, v, r, fu, fv, vth6, bias, refrac, fired):
    """Neurons 0..m-1 of slices sharing one parameter set; branch-free (LLVM vectorises it).
    Returns how many currents wrapped around the 24-bit range."""
    top = 1 << 23
    wrapped = 0
    for k in range(m):
        dc = _wrap32(_rz12(u[k] * fu) + _wrap32(_wrap32(xe[k] + xi[k]) << 6))
        over, under = dc > top, dc <= -top
        wrapped += np.int64(over | under)
        uk = dc - 2 * top if over else (dc + 2 * top if under else dc)
        u[k] = uk
        rk = r[k]
        active = rk <= 0
        nv = min(max(_wrap32(_rz12(v[k] * fv) + uk + bias), -(top - 1)), top - 1) if active else v[k]
        rk = rk if active else rk - 1
        spike = nv > vth6
        fired[k] = spike
        v[k] = 0 if spike else nv
        r[k] = refrac if spike else rk
    return wrapped


@numba.njit(cache=True, nogil=True, inline="always")
def _update(lo, hi, xe, xi, u, v, r, run_start, tab, fired):
    """Neurons lo..hi-1 (inputs indexed from 0), run by run of equal parameters; returns the
    number of wrapped currents."""
    q = np.searchsorted(run_start, lo, side="right") - 1
    a, wrapped = lo, 0
    while a < hi:
        b = min(hi, run_start[q + 1])
        wrapped += _run_of(b - a, xe[a - lo:b - lo], xi[a - lo:b - lo], u[a:b], v[a:b], r[a:b], tab[q, 0],
                           tab[q, 1], tab[q, 2], tab[q, 3], tab[q, 4], fired[a:b])
        a = b
        q += 1
    return wrapped


@numba.njit(cache=True, nogil=True)
def _step(u, v, r, x, run_start, tab, fired, words, out, wrapped):
    """One step of every neuron (``x`` of shape (2, n)); the per-step path."""
    n = v.shape[0]
    wrapped[0] += _update(0, n, x[0], x[1], u, v, r, run_start, tab, fired)
    return compact(0, n, fired, words, out)


@numba.njit(**STEP)
def _part(p, t, ring, route, src, buf, rec, err, K):
    u, v, r, run_start, tab, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    _update(lo, hi, xe, xi, u, v, r, run_start, tab, fired)
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = compact(lo, hi, fired, words, spk[t & 1, p])
    record_part(p, t, rec, v, u, r, r)         # state_vars: v, u, refrac


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, _part)


@numba.njit(**STEP)
def _run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, _part)


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
        table = np.stack([self._fu, self._fv, self._vth6, self._bias, self._refrac], axis=1) if self.n \
            else np.zeros((0, 5), np.int64)
        self._run_start, first = param_runs(table)
        self._tab = np.ascontiguousarray(table[first])
        self._out = np.empty(self.n, dtype=np.int64)
        self._fired = fired_flags(self.n)
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
        n = _step(state["u"], state["v"], state["refrac"], x, self._run_start, self._tab, self._fired,
                  self._fired.view(np.uint64), self._out, self._wrapped)
        self._check(state)
        return self._out[:n].copy()

    def compiled(self, state):
        if self.strict:
            return None       # per-step path, so an overflow is reported at its step
        fired = fired_flags(self.n)
        K = (state["u"], state["v"], state["refrac"], self._run_start, self._tab, fired, fired.view(np.uint64))

        return runner(_run_par, _run_seq, K)
