"""sPyNNaker 7's integer pair STDP for the ``spinnaker`` kernel (docs/spinnaker.md).

Follows the C sources (timing_pair_impl.h, weight_additive_one_term_impl.h,
weight_multiplicative_impl.h, stdp_typedefs.h) with the engine's hook timing (pre spikes
at emission; docs/stdp.md). Per plastic projection and step t, after routing::

    lut(dt)   = floor(exp(-dt * step/tau) * 2048) for dt < size, else 0   (get_exp_lut_array)
    pre j fired:  o = (y[i] * lut_minus(t - t_post[i])) >> 11 if t > t_post[i]
                  W -= mul_accum_fixed(scale_minus, o)                    (additive: then max(W, Wmin))
    post i fired: r = (x[j] * lut_plus(t - t_pre[j])) >> 11 if t > t_pre[j]
                  W += mul_accum_fixed(scale_plus, r)                     (additive: then min(W, Wmax))
    then x[j] = int16((x[j] * lut_plus(t - t_pre[j])) >> 11) + 2048, t_pre[j] = t; y likewise
    routed weight q = W >> shift                                          (weight_get_final)

``W`` is the weight in s16.15 nA (``q << shift``, the post population's ring-buffer shift),
``mul_accum_fixed(a, f) = (a * (f << 4)) >> 15``, accum products truncate. Additive:
``scale = a2 = round(A * w_max * 2**15)`` (stdp.py hands sPyNNaker A * w_max). Multiplicative:
``scale = ((W - Wmin) * a2_minus) >> 15`` resp. ``((Wmax - W) * a2_plus) >> 15`` with
``a2 = round(A * 2**15)`` and no clipping (the rule approaches the bounds). Traces are
16-bit (pre_trace_t int16, the post trace's upper half-word) and wrap as in C.
"""
from __future__ import annotations

import math

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import PlasticityHook, SnnccError, detmath

STDP_FIXED_POINT = 11
STDP_ONE = 1 << STDP_FIXED_POINT
S1615_TO_STDP_RIGHT_SHIFT = 4
ONE = 1 << 15


def exp_lut(dt: float, tau: float) -> np.ndarray:
    """sPyNNaker's ``get_exp_lut_array`` (shift 0) without the header: int64 entries."""
    lam = dt / float(tau)
    size, extra = divmod(math.log(STDP_ONE) / lam, 2)
    size = (int(size) + (extra > 0)) * 2
    # sPyNNaker uses numpy.exp here (CPU-dependent in the last bit); snncc.detmath gives every
    # machine the same table (equal to numpy's wherever floor(. * 2048) is not within an ulp)
    return np.floor(detmath.exp(np.arange(size) * -lam) * STDP_ONE).astype(np.int64)


@numba.njit(cache=True, nogil=True, inline="always")
def _lookup(lut, d):
    return lut[d] if d < lut.shape[0] else 0


@numba.njit(cache=True, nogil=True, inline="always")
def _i16(x):
    return ((x + 32768) & 0xFFFF) - 32768


@numba.njit(cache=True, nogil=True, inline="always")
def _maf(a, f):
    return (a * (f << 4)) >> 15


@numba.njit(cache=True, nogil=True)
def _spin_step(t, w, pos, W, x, tx, y, ty, pre_f, post_f, pre_ptr, pre_syn, post_ptr, post_syn,
               pre_loc, post_loc, lut_p, lut_m, a_p, a_m, w_min, w_max, mult, shift):
    for j in pre_f:
        for m in range(pre_ptr[j], pre_ptr[j + 1]):
            s = pre_syn[m]
            i = post_loc[s]
            if t > ty[i]:
                o = (y[i] * _lookup(lut_m, t - ty[i])) >> 11
                if mult:
                    W[s] -= _maf(((W[s] - w_min) * a_m) >> 15, o)
                else:
                    W[s] = max(W[s] - _maf(a_m, o), w_min)
                w[pos[s]] = W[s] >> shift
    for i in post_f:
        for m in range(post_ptr[i], post_ptr[i + 1]):
            s = post_syn[m]
            j = pre_loc[s]
            if t > tx[j]:
                r = (x[j] * _lookup(lut_p, t - tx[j])) >> 11
                if mult:
                    W[s] += _maf(((w_max - W[s]) * a_p) >> 15, r)
                else:
                    W[s] = min(W[s] + _maf(a_p, r), w_max)
                w[pos[s]] = W[s] >> shift
    for j in pre_f:
        x[j] = _i16(((x[j] * _lookup(lut_p, t - tx[j])) >> 11) + 2048)
        tx[j] = t
    for i in post_f:
        y[i] = _i16(((y[i] * _lookup(lut_m, t - ty[i])) >> 11) + 2048)
        ty[i] = t


def rule_params(rule, dt: float) -> dict:
    """The integer parameters of one projection's rule (bounds in nA, as the IR keeps them)."""
    mult = rule.weight_dependence == "multiplicative"
    w_min, w_max = abs(float(rule.w_min)), abs(float(rule.w_max))
    scale = 1.0 if mult else w_max
    q = {"lut_plus": exp_lut(dt, rule.tau_plus), "lut_minus": exp_lut(dt, rule.tau_minus),
         "a_plus": int(round(rule.A_plus * scale * ONE)), "a_minus": int(round(rule.A_minus * scale * ONE)),
         "w_min": int(round(w_min * ONE)), "w_max": int(round(w_max * ONE)), "mult": mult}
    for k in ("a_plus", "a_minus", "w_min", "w_max"):
        if not 0 <= q[k] < (1 << 31):
            raise SnnccError(f"STDP {k} = {q[k]} does not fit sPyNNaker's s16.15 accum [0, 2**31)",
                             hint="use bounds and amplitudes below 65536 nA")
    return q


class SpinnakerSTDP(PlasticityHook):
    """sPyNNaker's pair STDP on the spinnaker kernel's 16-bit weights (magnitudes)."""

    def setup(self):
        self.params, self.state, self.shift, self.t = [], [], [], 0
        pops = {p.name: p for p in self.net.populations}
        for p in self.prjs:
            prj = next(x for x in self.net.projections if x.name == p.name)
            try:
                q = rule_params(p.rule, self.net.dt)
            except SnnccError as e:
                raise SnnccError(f"projection '{p.name}': {e.message}", hint=e.hint) from None
            key = "shift_E" if prj.receptor == "excitatory" else "shift_I"
            sh = int(pops[prj.post].params[key][0])
            W = np.abs(self.wiring.weight[p.pos]).astype(np.int64) << sh
            self.params.append(q)
            self.shift.append(sh)
            self.state.append((W, np.zeros(p.pre_size, np.int64), np.zeros(p.pre_size, np.int64),
                               np.zeros(p.post_size, np.int64), np.zeros(p.post_size, np.int64)))

    def step(self, t, spk, src):
        self.t = t
        super().step(t, spk, src)

    def update(self, k, p, pre_f, post_f):
        W, x, tx, y, ty = self.state[k]
        q = self.params[k]
        _spin_step(np.int64(self.t), self.wiring.weight, p.pos, W, x, tx, y, ty, pre_f, post_f, p.pre_ptr,
                   p.pre_syn, p.post_ptr, p.post_syn, p.pre_loc, p.post_loc, q["lut_plus"], q["lut_minus"],
                   np.int64(q["a_plus"]), np.int64(q["a_minus"]), np.int64(q["w_min"]),
                   np.int64(q["w_max"]), bool(q["mult"]), np.int64(self.shift[k]))

    def full_weights(self) -> dict[str, np.ndarray]:
        """The s16.15 weights (nA * 2**15) per plastic projection."""
        return {p.name: s[0].copy() for p, s in zip(self.prjs, self.state)}
