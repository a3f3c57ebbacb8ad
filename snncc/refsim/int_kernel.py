"""``int-example``: a minimal integer LIF kernel - the template for backend kernels.

It is no hardware's arithmetic; it shows (and the tests and benchmarks exercise) what
an integer kernel does: declared widths, shift-based decay, wrap or strict overflow,
reset and refractory rules, and the optional compiled loop (:meth:`Kernel.compiled`).

Per step, per neuron, in int64, with x_E/x_I the summed integer weights arriving::

    u_E = u_E + x_E        u_I = u_I + x_I          (each then wrapped to `u` bits)
    if r > 0: r -= 1                                 (refractory: v held)
    else: v = v - (v >> shift_v) + ((u_E + u_I) >> shift_g) + bias   (wrapped to `v` bits)
    u_E -= u_E >> shift_E;  u_I -= u_I >> shift_I    (>> is arithmetic: floor)
    if v >= v_thresh: spike; v = v_reset; r = refrac

v is relative to the resting potential. "Wrapped to b bits" is two's complement wrap;
with ``strict`` a value outside [-2**(b-1), 2**(b-1)-1] raises OverflowInKernel instead.
"""
from __future__ import annotations

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np

from .. import detmath
from ..ir import FixedPopulation, FixedProjection, Network
from .loop import STEP, deliver_part, record_part, runner, slot_of, steps_seq, steps_team
from .kernel import Kernel, OverflowInKernel, StateVar

PARAMS = ("shift_v", "shift_g", "shift_E", "shift_I", "bias", "v_thresh", "v_reset", "refrac")
WIDTHS = {"v": 16, "u": 16}


@numba.njit(cache=True, nogil=True)
def _overflow(err, code, k, val):
    err[0], err[1], err[2] = code, k, val
    return -1


@numba.njit(cache=True, nogil=True)
def _update(lo, hi, xe, xi, v, ue, ui, r, p, vbits, ubits, strict, out, err):
    """Neurons lo..hi-1 for one step (inputs ``xe``/``xi`` indexed from 0); returns the spike count,
    or -1 on a strict overflow (details in ``err``)."""
    n_spk = 0
    for k in range(lo, hi):
        uh = np.int64(1) << (ubits[k] - 1)
        e = ue[k] + xe[k - lo]
        if e < -uh or e >= uh:
            if strict:
                return _overflow(err, 1, k, e)
            e = ((e + uh) & (2 * uh - 1)) - uh
        i = ui[k] + xi[k - lo]
        if i < -uh or i >= uh:
            if strict:
                return _overflow(err, 2, k, i)
            i = ((i + uh) & (2 * uh - 1)) - uh
        vk = v[k]
        if r[k] > 0:
            r[k] -= 1
        else:
            vh = np.int64(1) << (vbits[k] - 1)
            vk = vk - (vk >> p[0, k]) + ((e + i) >> p[1, k]) + p[4, k]
            if vk < -vh or vk >= vh:
                if strict:
                    return _overflow(err, 3, k, vk)
                vk = ((vk + vh) & (2 * vh - 1)) - vh
        ue[k] = e - (e >> p[2, k])
        ui[k] = i - (i >> p[3, k])
        if vk >= p[5, k]:
            out[n_spk] = k
            n_spk += 1
            vk = p[6, k]
            r[k] = p[7, k]
        v[k] = vk
    return n_spk


@numba.njit(cache=True, nogil=True)
def _step(v, ue, ui, r, x, p, vbits, ubits, strict, out, err):
    """One step of every neuron (``x`` of shape (2, n)); the per-step path."""
    return _update(0, v.shape[0], x[0], x[1], v, ue, ui, r, p, vbits, ubits, strict, out, err)


@numba.njit(**STEP)
def _part(p, t, ring, route, src, buf, rec, err, K):
    v, ue, ui, r, prm, vbits, ubits, strict = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    k = _update(lo, hi, xe, xi, v, ue, ui, r, prm, vbits, ubits, strict, spk[t & 1, p], err[p])
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = max(k, 0)
    record_part(p, t, rec, v, ue, ui, r)


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, _part)


@numba.njit(**STEP)
def _run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, _part)


class IntExampleKernel(Kernel):
    name = "int-example"
    accum_dtype = np.int64
    stage = "fixed"

    def __init__(self, net: Network, strict: bool = False):
        super().__init__(net, strict)
        self._p = np.ascontiguousarray(np.stack([self.concat(k) for k in PARAMS])) if self.n \
            else np.zeros((len(PARAMS), 0), np.int64)
        self._bits = {var: np.concatenate([np.full(p.size, p.widths.get(var, WIDTHS[var]), np.int64)
                                           for p in net.populations]) for var in WIDTHS}
        self._out = np.empty(self.n, np.int64)
        self._err = np.zeros(3, np.int64)

    @property
    def state_vars(self):
        vb = int(self._bits["v"].max()) if self.n else WIDTHS["v"]
        ub = int(self._bits["u"].max()) if self.n else WIDTHS["u"]
        return {"v": StateVar("v", np.int64, vb), "u_E": StateVar("u_E", np.int64, ub),
                "u_I": StateVar("u_I", np.int64, ub), "refrac": StateVar("refrac", np.int64, 16, False)}

    def init_state(self):
        v0 = self.concat("v_init") if all("v_init" in p.params for p in self.net.populations) \
            else np.zeros(self.n, np.int64)
        return {"v": v0.copy(), "u_E": np.zeros(self.n, np.int64), "u_I": np.zeros(self.n, np.int64),
                "refrac": np.zeros(self.n, np.int64)}

    def _raise(self, err):
        code, k, val = (int(a) for a in err)
        err[:] = 0
        var = {1: "u_E", 2: "u_I", 3: "v"}[code]
        bits = int(self._bits["u" if code < 3 else "v"][k])
        pop, idx = self.locate(k)
        raise OverflowInKernel(
            f"{self.name} kernel: {var} of neuron {idx} in '{pop}' = {val} leaves its {bits}-bit "
            f"range [{-(1 << (bits - 1))}, {(1 << (bits - 1)) - 1}]",
            hint="lower the weights or the quantisation scale, or run without --strict to wrap")

    def step(self, state, x):
        n = _step(state["v"], state["u_E"], state["u_I"], state["refrac"], x, self._p,
                  self._bits["v"], self._bits["u"], self.strict, self._out, self._err)
        if n < 0:
            self._raise(self._err)
        return self._out[:n].copy()

    def compiled(self, state):
        K = (state["v"], state["u_E"], state["u_I"], state["refrac"], self._p, self._bits["v"],
             self._bits["u"], self.strict)
        return runner(_run_par, _run_seq, K)

    def compiled_error(self, state, err):
        self._raise(err)


def _shift(tau, dt):
    """The shift s whose decay 1 - 2**-s is closest to exp(-dt/tau) (detmath's log2: a shift
    must not change with the CPU that lowers the network)."""
    return np.clip(np.round(detmath.log2(np.asarray(tau) / dt)), 0, 30).astype(np.int64)


def lower(net: Network, v_scale: float = 256.0, shift_g: int = 4) -> Network:
    """A step-stage ``lif`` network in this kernel's integers (for tests and benchmarks).

    v in 1/``v_scale`` mV relative to rest; a weight w (nA) becomes the current that
    moves v by about gain * w per step, times 2**shift_g.
    """
    pops, gain = [], {}
    for p in net.populations:
        c = p.coef
        rest = np.where(c["decay_v"] < 1, c["bias"] / np.maximum(1e-300, 1 - c["decay_v"]), 0.0)
        tau_m = -net.dt / detmath.log(np.minimum(c["decay_v"], 1 - 1e-12))
        params = {"shift_v": _shift(tau_m, net.dt), "shift_g": np.full(p.size, shift_g),
                  "shift_E": _shift(-net.dt / detmath.log(np.maximum(c["decay_E"], 1e-300)), net.dt),
                  "shift_I": _shift(-net.dt / detmath.log(np.maximum(c["decay_I"], 1e-300)), net.dt),
                  "bias": np.zeros(p.size, np.int64),
                  "v_thresh": np.round((c["v_thresh"] - rest) * v_scale).astype(np.int64),
                  "v_reset": np.round((c["v_reset"] - rest) * v_scale).astype(np.int64),
                  "refrac": c["refrac"].astype(np.int64),
                  "v_init": np.round((c["v_init"] - rest) * v_scale).astype(np.int64)}
        gain[p.name] = (c["gain_E"], c["gain_I"])
        pops.append(FixedPopulation(p.name, p.size, IntExampleKernel.name, params, dict(WIDTHS),
                                    p.record, p.loc))
    prjs = []
    for prj in net.projections:
        g = gain[prj.post][0 if prj.receptor == "excitatory" else 1][prj.post_idx]
        w = np.round(prj.weight * g * v_scale * 2 ** shift_g).astype(np.int64)
        prjs.append(FixedProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, w,
                                    prj.delay, 16, prj.receptor, prj.plasticity, prj.loc))
    return net.with_(populations=tuple(pops), projections=tuple(prjs), stage="fixed",
                     target=None)
