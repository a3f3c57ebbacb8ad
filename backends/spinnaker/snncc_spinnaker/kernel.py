"""The ``spinnaker`` numerics kernel: sPyNNaker 7's IF_curr_exp and IF_curr_delta in
s16.15 fixed point.

Per step, per neuron, in the order of sPyNNaker's neuron_impl_standard.h (C sources:
neuron_model_lif_impl.h, synapse_types_exponential_impl.h, synapse_types_delta_impl.h,
input_type_delta.h, decay.h, synapses.c)::

    q_X   = min(ring buffer sum of 16-bit weights, 0xFFFF)      saturating uint16
    in_X  = q_X << shift_X                                      s16.15 current (nA)
    I_X  += (in_X * init_X) >> 32                               exp: decay_s1615, u0.32 init
    I_X  += in_X                                                delta: add_input_delta
    if refract_timer <= 0:
        J_X   = I_X                                             exp (input_type_current)
        J_X   = round(I_X * scale)                              delta: scale = kdivk(1, dt)
        alpha = round((J_E - J_I + i_offset) * R) + v_rest       MULT_ROUND_NEAREST_ACCUM
        v     = alpha - round(exp_tc * (alpha - v))
    else: refract_timer -= 1
    if v >= v_thresh: spike; v = v_reset; refract_timer = T_refract
    I_X   = (I_X * decay_X) >> 32                               exp: decay_s1615
    I_X   = 0                                                   delta: delta_shaping

Products of two s16.15 values round to nearest and saturate (``__stdfix_smul_k_round_nearest``);
sums wrap in 32 bits like GCC's accum arithmetic. Host-side constants (R, exp_tc,
decays, init) are computed in float64 and rounded; sPyNNaker 7 computes them on the
chip with kdivk/expk, which may differ by one LSB. Not yet verified against a SpiNNaker
machine (docs/spinnaker.md). Plastic projections run sPyNNaker's integer pair STDP
(stdp_kernel.py) through the engine's plasticity hook.
"""
from __future__ import annotations

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import (
    Kernel, StateVar, compact, deliver_part, fired_flags, param_runs, record_part, runner, slot_of, steps_seq,
    steps_team,
)

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_accum(a, b):
    """s16.15 x s16.15 -> s16.15, round to nearest, saturating."""
    return min(max((a * b + (1 << 14)) >> 15, I32_MIN), I32_MAX)


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(m, xe, xi, v, i_e, i_i, r, c, fired):
    """Neurons 0..m-1 of slices sharing the parameter set ``c`` (SpinnakerKernel.ROWS).

    Branch-free, so LLVM vectorises it: an input of 0 adds 0 (the C code skips it), and the
    membrane update of a refractory neuron is computed and discarded (the C code skips it)."""
    shift_e, shift_i, init_e, init_i, decay_e, decay_i = c[0], c[1], c[2], c[3], c[4], c[5]
    r_mem, exp_tc, v_rest, i_offset, v_thresh, v_reset = c[6], c[7], c[8], c[9], c[10], c[11]
    t_refract, delta, in_scale = c[12], c[13] != 0, c[14]
    for k in range(m):
        qe = min(xe[k], 0xFFFF)
        qi = min(xi[k], 0xFFFF)
        ine = _wrap32(qe << shift_e) if qe > 0 else 0
        ini = _wrap32(qi << shift_i) if qi > 0 else 0
        ie = _wrap32(i_e[k] + (ine if delta else (ine * init_e) >> 32))
        ii = _wrap32(i_i[k] + (ini if delta else (ini * init_i) >> 32))
        if delta:
            total = _wrap32(_wrap32(_mul_accum(ie, in_scale) - _mul_accum(ii, in_scale)) + i_offset)
        else:
            total = _wrap32(ie - ii + i_offset)
        alpha = _wrap32(_mul_accum(total, r_mem) + v_rest)
        vk = v[k]
        rk = r[k]
        active = rk <= 0
        vk = _wrap32(alpha - _mul_accum(exp_tc, _wrap32(alpha - vk))) if active else vk
        rk = rk if active else rk - 1
        spike = vk >= v_thresh
        fired[k] = spike
        v[k] = v_reset if spike else vk
        r[k] = t_refract if spike else rk
        i_e[k] = (ie * decay_e) >> 32
        i_i[k] = (ii * decay_i) >> 32


@numba.njit(cache=True, nogil=True, inline="always")
def _update(lo, hi, xe, xi, v, i_e, i_i, r, run_start, tab, fired):
    """Neurons lo..hi-1 (inputs indexed from 0), run by run of equal parameters."""
    q = np.searchsorted(run_start, lo, side="right") - 1
    a = lo
    while a < hi:
        b = min(hi, run_start[q + 1])
        _run_of(b - a, xe[a - lo:b - lo], xi[a - lo:b - lo], v[a:b], i_e[a:b], i_i[a:b], r[a:b], tab[q],
                fired[a:b])
        a = b
        q += 1


@numba.njit(cache=True, nogil=True)
def _step(v, i_e, i_i, r, x, run_start, tab, fired, words, out):
    """One step of every neuron (``x`` of shape (2, n)); the per-step path."""
    n = v.shape[0]
    _update(0, n, x[0], x[1], v, i_e, i_i, r, run_start, tab, fired)
    return compact(0, n, fired, words, out)


@numba.njit(cache=True, nogil=True)
def _part(p, t, ring, route, src, buf, rec, err, K):
    v, i_e, i_i, r, run_start, tab, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    _update(lo, hi, xe, xi, v, i_e, i_i, r, run_start, tab, fired)
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = compact(lo, hi, fired, words, spk[t & 1, p])
    record_part(p, t, rec, v, i_e, i_i, r)


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, _part)


@numba.njit(cache=True, nogil=True)
def _run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, _part)


class SpinnakerKernel(Kernel):
    name = "spinnaker"
    accum_dtype = np.int64
    stage = "fixed"

    KEYS = ("v_init", "v_rest", "v_reset", "v_thresh", "i_offset", "r_mem", "exp_tc", "t_refract",
            "decay_E", "decay_I", "init_E", "init_I", "shift_E", "shift_I")
    #: parameters added with IF_curr_delta; builds from before hold IF_curr_exp only
    OPTIONAL = {"delta": 0, "in_scale": 1 << 15}
    #: parameter rows of the compiled update, in its order
    ROWS = ("shift_E", "shift_I", "init_E", "init_I", "decay_E", "decay_I", "r_mem", "exp_tc", "v_rest",
            "i_offset", "v_thresh", "v_reset", "t_refract", "delta", "in_scale")

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        self._c = {k: self.concat(k) for k in self.KEYS}
        for k, default in self.OPTIONAL.items():
            parts = [np.asarray(p.params[k]) if k in p.params else np.full(p.size, default)
                     for p in net.populations]
            self._c[k] = np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=np.int64)
        table = np.stack([self._c[k] for k in self.ROWS], axis=1) if self.n \
            else np.zeros((0, len(self.ROWS)), np.int64)
        self._run_start, first = param_runs(table)
        self._tab = np.ascontiguousarray(table[first])
        self._out = np.empty(self.n, dtype=np.int64)
        self._fired = fired_flags(self.n)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, 32), "i_E": StateVar("i_E", np.int64, 32),
                "i_I": StateVar("i_I", np.int64, 32), "refrac": StateVar("refrac", np.int64, 32)}

    def init_state(self):
        return {"v": self._c["v_init"].copy(), "i_E": np.zeros(self.n, np.int64),
                "i_I": np.zeros(self.n, np.int64), "refrac": np.zeros(self.n, np.int64)}

    def synapse_weights(self, prj):
        # the 16-bit magnitude (uint16 in the image); the receptor carries the sign
        return prj.weight

    def step(self, state, x):
        n = _step(state["v"], state["i_E"], state["i_I"], state["refrac"], x, self._run_start, self._tab,
                  self._fired, self._fired.view(np.uint64), self._out)
        return self._out[:n].copy()

    def compiled(self, state):
        fired = fired_flags(self.n)
        K = (state["v"], state["i_E"], state["i_I"], state["refrac"], self._run_start, self._tab, fired,
             fired.view(np.uint64))

        return runner(_run_par, _run_seq, K)

    def plasticity(self, net, wiring):
        """sPyNNaker's integer pair-STDP rule (stdp_kernel.py) for the engine's per-step hook."""
        from .stdp_kernel import SpinnakerSTDP
        return SpinnakerSTDP(net, wiring)
