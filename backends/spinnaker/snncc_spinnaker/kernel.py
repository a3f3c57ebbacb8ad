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

import numba
import numpy as np
from numba import prange

from snncc.refsim.loop import deliver_part, gather, room, slot_of
from snncc.refsim.kernel import Kernel, StateVar

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(x):
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_accum(a, b):
    """s16.15 x s16.15 -> s16.15, round to nearest, saturating."""
    p = (a * b + (1 << 14)) >> 15
    if p > I32_MAX:
        return I32_MAX
    if p < I32_MIN:
        return I32_MIN
    return p


@numba.njit(cache=True, nogil=True)
def _update(m, xe, xi, v, i_e, i_i, r, P, fired):
    """Neurons 0..m-1 of slices (indices from 0: numba emits no negative-index wraparound);
    ``P`` holds the parameters in rows (see SpinnakerKernel.ROWS)."""
    shift_e, shift_i, init_e, init_i, decay_e, decay_i = P[0], P[1], P[2], P[3], P[4], P[5]
    r_mem, exp_tc, v_rest, i_offset, v_thresh, v_reset = P[6], P[7], P[8], P[9], P[10], P[11]
    t_refract, delta, in_scale = P[12], P[13], P[14]
    for k in range(m):
        qe = min(xe[k], 0xFFFF)
        qi = min(xi[k], 0xFFFF)
        dk = delta[k] != 0
        if qe > 0:
            ine = _wrap32(qe << shift_e[k])
            i_e[k] = _wrap32(i_e[k] + (ine if dk else (ine * init_e[k]) >> 32))
        if qi > 0:
            ini = _wrap32(qi << shift_i[k])
            i_i[k] = _wrap32(i_i[k] + (ini if dk else (ini * init_i[k]) >> 32))
        if r[k] <= 0:
            if dk:
                total = _wrap32(_wrap32(_mul_accum(i_e[k], in_scale[k]) - _mul_accum(i_i[k], in_scale[k]))
                                + i_offset[k])
            else:
                total = _wrap32(i_e[k] - i_i[k] + i_offset[k])
            alpha = _wrap32(_mul_accum(total, r_mem[k]) + v_rest[k])
            v[k] = _wrap32(alpha - _mul_accum(exp_tc[k], _wrap32(alpha - v[k])))
        else:
            r[k] -= 1
        spike = v[k] >= v_thresh[k]
        fired[k] = spike
        if spike:
            v[k] = v_reset[k]
            r[k] = t_refract[k]
        i_e[k] = (i_e[k] * decay_e[k]) >> 32
        i_i[k] = (i_i[k] * decay_i[k]) >> 32


@numba.njit(cache=True, nogil=True)
def _compact(lo, fired, out):
    n_spk = 0
    for k in range(fired.shape[0]):
        if fired[k]:
            out[n_spk] = lo + k
            n_spk += 1
    return n_spk


@numba.njit(cache=True, nogil=True)
def _step(v, i_e, i_i, r, x, P, fired, out):
    """One step of every neuron (``x`` of shape (2, n)); the per-step path."""
    _update(v.shape[0], x[0], x[1], v, i_e, i_i, r, P, fired)
    return _compact(0, fired, out)


@numba.njit(cache=True, nogil=True)
def _part(p, t, ring, route, src, buf, rec, K):
    v, i_e, i_i, r, P, fired = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    _update(hi - lo, xe, xi, v[lo:hi], i_e[lo:hi], i_i[lo:hi], r[lo:hi], P[:, lo:hi], fired[lo:hi])
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = _compact(lo, fired[lo:hi], spk[t & 1, p])
    ptr, code, idx, out, t_base = rec
    for m in range(ptr[p], ptr[p + 1]):
        k, c = idx[m], code[m]
        out[t - t_base, m] = v[k] if c == 0 else (i_e[k] if c == 1 else (i_i[k] if c == 2 else r[k]))


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K):
    n_ev = 0
    cap = room(ev, route)
    for t in range(t0, t1):
        if n_ev > cap:
            return t, n_ev, 0
        for p in prange(buf[0].shape[0] - 1):
            _part(p, t, ring, route, src, buf, rec, K)
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
            _part(p, t, ring, route, src, buf, rec, K)
        n_ev = gather(t, buf, ev, n_ev)
    return t1, n_ev, 0


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
        self._P = np.ascontiguousarray(np.stack([self._c[k] for k in self.ROWS])) if self.n \
            else np.zeros((len(self.ROWS), 0), np.int64)
        self._out = np.empty(self.n, dtype=np.int64)
        self._fired = np.zeros(self.n, dtype=np.bool_)

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
        n = _step(state["v"], state["i_E"], state["i_I"], state["refrac"], x, self._P, self._fired, self._out)
        return self._out[:n].copy()

    def compiled(self, state):
        K = (state["v"], state["i_E"], state["i_I"], state["refrac"], self._P, self._fired)

        def run(parallel, *args):
            return (_run_par if parallel else _run_seq)(*args, K)
        return run

    def plasticity(self, net, wiring):
        """sPyNNaker's integer pair-STDP rule (stdp_kernel.py) for the engine's per-step hook."""
        from .stdp_kernel import SpinnakerSTDP
        return SpinnakerSTDP(net, wiring)
