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

from snncc.refsim.engine import deliver
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
def _step(v, i_e, i_i, r, x, shift_e, shift_i, init_e, init_i, decay_e, decay_i, r_mem, exp_tc,
          v_rest, i_offset, v_thresh, v_reset, t_refract, delta, in_scale, out):
    n_spk = 0
    for k in range(v.shape[0]):
        qe = min(x[0, k], 0xFFFF)
        qi = min(x[1, k], 0xFFFF)
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
        if v[k] >= v_thresh[k]:
            out[n_spk] = k
            n_spk += 1
            v[k] = v_reset[k]
            r[k] = t_refract[k]
        i_e[k] = (i_e[k] * decay_e[k]) >> 32
        i_i[k] = (i_i[k] * decay_i[k]) >> 32
    return n_spk


@numba.njit(cache=True, nogil=True)
def _run(t0, t1, ring, routing, ev_s, ev_i, n_ev, v, i_e, i_i, r, shift_e, shift_i, init_e, init_i,
         decay_e, decay_i, r_mem, exp_tc, v_rest, i_offset, v_thresh, v_reset, t_refract, delta, in_scale,
         out):
    depth = ring.shape[0]
    for t in range(t0, t1):
        n_spk = _step(v, i_e, i_i, r, ring[t % depth], shift_e, shift_i, init_e, init_i, decay_e, decay_i,
                      r_mem, exp_tc, v_rest, i_offset, v_thresh, v_reset, t_refract, delta, in_scale, out)
        ev_s, ev_i, n_ev = deliver(ring, t, out, n_spk, routing, ev_s, ev_i, n_ev)
    return ev_s, ev_i, n_ev


class SpinnakerKernel(Kernel):
    name = "spinnaker"
    accum_dtype = np.int64
    stage = "fixed"

    KEYS = ("v_init", "v_rest", "v_reset", "v_thresh", "i_offset", "r_mem", "exp_tc", "t_refract",
            "decay_E", "decay_I", "init_E", "init_I", "shift_E", "shift_I")
    #: parameters added with IF_curr_delta; builds from before hold IF_curr_exp only
    OPTIONAL = {"delta": 0, "in_scale": 1 << 15}

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        self._c = {k: self.concat(k) for k in self.KEYS}
        for k, default in self.OPTIONAL.items():
            parts = [np.asarray(p.params[k]) if k in p.params else np.full(p.size, default)
                     for p in net.populations]
            self._c[k] = np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0), dtype=np.int64)
        self._out = np.empty(self.n, dtype=np.int64)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, 32), "i_E": StateVar("i_E", np.int64, 32),
                "i_I": StateVar("i_I", np.int64, 32), "refrac": StateVar("refrac", np.int64, 32)}

    def init_state(self):
        return {"v": self._c["v_init"].copy(), "i_E": np.zeros(self.n, np.int64),
                "i_I": np.zeros(self.n, np.int64), "refrac": np.zeros(self.n, np.int64)}

    def synapse_weights(self, prj):
        # the 16-bit magnitude; the receptor (excitatory/inhibitory) carries the sign
        return np.asarray(prj.weight, dtype=np.int64)

    def step(self, state, x):
        c = self._c
        n = _step(state["v"], state["i_E"], state["i_I"], state["refrac"], x, c["shift_E"], c["shift_I"],
                  c["init_E"], c["init_I"], c["decay_E"], c["decay_I"], c["r_mem"], c["exp_tc"],
                  c["v_rest"], c["i_offset"], c["v_thresh"], c["v_reset"], c["t_refract"], c["delta"],
                  c["in_scale"], self._out)
        return self._out[:n].copy()

    def run_steps(self, state, ring, t0, t1, routing, events):
        c = self._c
        return _run(t0, t1, ring, routing, *events, state["v"], state["i_E"], state["i_I"], state["refrac"],
                    c["shift_E"], c["shift_I"], c["init_E"], c["init_I"], c["decay_E"], c["decay_I"],
                    c["r_mem"], c["exp_tc"], c["v_rest"], c["i_offset"], c["v_thresh"], c["v_reset"],
                    c["t_refract"], c["delta"], c["in_scale"], self._out)

    def plasticity(self, net, wiring):
        """sPyNNaker's integer pair-STDP rule (stdp_kernel.py) for the engine's per-step hook."""
        from .stdp_kernel import SpinnakerSTDP
        return SpinnakerSTDP(net, wiring)
