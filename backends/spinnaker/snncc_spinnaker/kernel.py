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
    STEP, Kernel, SnnccError, StateVar, compact, deliver_part, fired_flags, param_runs, record_part, runner,
    slot_of, steps_seq, steps_team,
)

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
#: table rows holding u0.32 fractions (decay_t): stored as their 32-bit pattern, negative from 0.5 up
U032_ROWS = ("init_E", "init_I", "decay_E", "decay_I")


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap32(x):
    # truncate and sign-extend: LLVM then knows the value has 33 sign bits and multiplies two such
    # values with one 32x32->64 instruction (vpmuldq) rather than a full 64-bit multiply
    return np.int64(np.int32(x))


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_accum(a, b):
    """s16.15 x s16.15 -> s16.15, round to nearest, saturating (a, b 32-bit values)."""
    return min(max((np.int64(a) * np.int64(b) + (1 << 14)) >> 15, I32_MIN), I32_MAX)


@numba.njit(cache=True, nogil=True, inline="always")
def _mul_u032(a, u, u_hi):
    """(a * U) >> 32 for a 32-bit signed ``a`` and a u0.32 fraction U whose 32-bit pattern read as
    signed is ``u``. ``u_hi`` is -1 where U >= 2**31 (then U = u + 2**32 and a*U = a*u + (a << 32): the
    shifted product gains exactly ``a``), else 0."""
    return ((np.int64(a) * np.int64(u)) >> 32) + (a & u_hi)


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(m, xe, xi, v, i_e, i_i, r, c, fired):
    """Neurons 0..m-1 of slices sharing the parameter set ``c`` (SpinnakerKernel.ROWS).

    Branch-free, so LLVM vectorises it: an input of 0 adds 0 (the C code skips it), and the
    membrane update of a refractory neuron is computed and discarded (the C code skips it). State
    and parameters are int32 (every value is 32-bit) and the loads come first: LLVM then widens
    them only inside the products, each one 32x32->64 multiply (vpmuldq). One loop per synapse
    type, so the exponential one holds no test of the type. Each input cell is cleared as it is read
    (the ring slot is then ready for its next step without a second pass over it)."""
    shift_e, shift_i = np.int64(c[0]), np.int64(c[1])
    init_e, init_i, decay_e, decay_i = c[2], c[3], c[4], c[5]
    # -1 where the u0.32 fraction is 0.5 or more (its int32 pattern negative), else 0: see _mul_u032
    init_e_hi, init_i_hi = -np.int64(init_e < 0), -np.int64(init_i < 0)
    decay_e_hi, decay_i_hi = -np.int64(decay_e < 0), -np.int64(decay_i < 0)
    r_mem, exp_tc, v_rest, i_offset, v_thresh, v_reset = c[6], c[7], c[8], c[9], c[10], c[11]
    t_refract, delta, in_scale = c[12], c[13] != 0, c[14]
    if not delta:
        for k in range(m):
            ie0, ii0, vk, rk = np.int64(i_e[k]), np.int64(i_i[k]), np.int64(v[k]), np.int64(r[k])
            xek, xik = xe[k], xi[k]
            xe[k] = 0
            xi[k] = 0
            # a negative sum cannot occur (16-bit magnitudes); were it there, it would add 0 as before
            ine = _wrap32(max(min(xek, 0xFFFF), 0) << shift_e)
            ini = _wrap32(max(min(xik, 0xFFFF), 0) << shift_i)
            ie = _wrap32(ie0 + _mul_u032(ine, init_e, init_e_hi))
            ii = _wrap32(ii0 + _mul_u032(ini, init_i, init_i_hi))
            total = _wrap32(ie - ii + i_offset)
            alpha = _wrap32(_mul_accum(total, r_mem) + v_rest)
            active = rk <= 0
            vk = _wrap32(alpha - _mul_accum(exp_tc, _wrap32(alpha - vk))) if active else vk
            rk = rk if active else rk - 1
            spike = vk >= v_thresh
            fired[k] = spike
            v[k] = v_reset if spike else vk
            r[k] = t_refract if spike else rk
            i_e[k] = _mul_u032(ie, decay_e, decay_e_hi)
            i_i[k] = _mul_u032(ii, decay_i, decay_i_hi)
    else:
        for k in range(m):
            ie0, ii0, vk, rk = np.int64(i_e[k]), np.int64(i_i[k]), np.int64(v[k]), np.int64(r[k])
            xek, xik = xe[k], xi[k]
            xe[k] = 0
            xi[k] = 0
            ie = _wrap32(ie0 + _wrap32(max(min(xek, 0xFFFF), 0) << shift_e))
            ii = _wrap32(ii0 + _wrap32(max(min(xik, 0xFFFF), 0) << shift_i))
            total = _wrap32(_wrap32(_mul_accum(ie, in_scale) - _mul_accum(ii, in_scale)) + i_offset)
            alpha = _wrap32(_mul_accum(total, r_mem) + v_rest)
            active = rk <= 0
            vk = _wrap32(alpha - _mul_accum(exp_tc, _wrap32(alpha - vk))) if active else vk
            rk = rk if active else rk - 1
            spike = vk >= v_thresh
            fired[k] = spike
            v[k] = v_reset if spike else vk
            r[k] = t_refract if spike else rk
            i_e[k] = _mul_u032(ie, decay_e, decay_e_hi)
            i_i[k] = _mul_u032(ii, decay_i, decay_i_hi)


@numba.njit(cache=True, nogil=True, inline="always")
def _update(lo, hi, xe, xi, v, i_e, i_i, r, run_start, tab, fired):
    """Neurons lo..hi-1 (inputs indexed from 0, cleared), run by run of equal parameters."""
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


@numba.njit(**STEP)
def _part(p, t, ring, route, src, buf, rec, err, K):
    v, i_e, i_i, r, run_start, tab, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    _update(lo, hi, xe, xi, v, i_e, i_i, r, run_start, tab, fired)     # clears xe, xi as it reads them
    cnt[t & 1, p] = compact(lo, hi, fired, words, spk[t & 1, p])
    record_part(p, t, rec, v, i_e, i_i, r)


@numba.njit(cache=True, parallel=True)
def _run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, _part)


@numba.njit(**STEP)
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
        table = np.stack([self._int32(k) for k in self.ROWS], axis=1) if self.n \
            else np.zeros((0, len(self.ROWS)), np.int32)
        self._v_init = self._int32("v_init")
        self._run_start, first = param_runs(table)
        self._tab = np.ascontiguousarray(table[first])
        self._out = np.empty(self.n, dtype=np.int64)
        self._fired = fired_flags(self.n)

    def _int32(self, key: str) -> np.ndarray:
        """Parameter ``key`` as the kernel holds it: int32, a u0.32 fraction as its 32-bit pattern."""
        a = self._c[key]
        lo, hi = (0, (1 << 32) - 1) if key in U032_ROWS else (I32_MIN, I32_MAX)
        bad = np.flatnonzero((a < lo) | (a > hi))
        if bad.size:
            pop, idx = self.locate(int(bad[0]))
            raise SnnccError(f"{self.name} kernel: {key} of neuron {idx} in '{pop}' = {int(a[bad[0]])} is "
                             f"outside its 32-bit range [{lo}, {hi}]",
                             hint="run a network lowered for the spinnaker target (its lowering "
                                  "refuses such values)")
        return (a if key not in U032_ROWS else np.where(a > I32_MAX, a - (1 << 32), a)).astype(np.int32)

    @property
    def state_vars(self):
        # held as int32 (the update loads and stores half the bytes); recorded as int64, as before
        return {"v": StateVar("v", np.int64, 32), "i_E": StateVar("i_E", np.int64, 32),
                "i_I": StateVar("i_I", np.int64, 32), "refrac": StateVar("refrac", np.int64, 32)}

    def init_state(self):
        return {"v": self._v_init.copy(), "i_E": np.zeros(self.n, np.int32),
                "i_I": np.zeros(self.n, np.int32), "refrac": np.zeros(self.n, np.int32)}

    def synapse_weights(self, prj):
        # the 16-bit magnitude (uint16 in the image); the receptor carries the sign
        return prj.weight

    def step(self, state, x):
        # the update clears the inputs it reads (the compiled loop's ring slot): here on a copy
        n = _step(state["v"], state["i_E"], state["i_I"], state["refrac"], np.array(x, np.int64),
                  self._run_start, self._tab, self._fired, self._fired.view(np.uint64), self._out)
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
