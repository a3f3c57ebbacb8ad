"""The ``float`` kernel: ideal float64 numerics of the discretised (step-stage) IR.

The coefficients come from the ``discretise`` pass, which integrates IF_curr_exp,
IF_curr_delta and IF exactly over one step (docs/numerics.md); this kernel applies
them in the order StepPopulation documents.
"""
from __future__ import annotations

import numba
import numpy as np

from .engine import deliver
from .kernel import Kernel, StateVar


@numba.njit(cache=True, nogil=True)
def _step(v, i_e, i_i, r, x, decay_v, gain_e, gain_i, decay_e, decay_i, bias, vth, vreset,
          refrac, direct, fired, out):
    # Branch-free over neurons so LLVM can vectorise it; the spikes are gathered after.
    # Delta populations have gain_X = decay_X = 0 and direct = 1, so the one expression
    # computes both synapse kinds, with the same operations in the same order as the
    # equations in docs/numerics.md (adding an exact 0.0 changes no value).
    n = v.shape[0]
    for k in range(n):
        xe = x[0, k]
        xi = x[1, k]
        ie = i_e[k] + xe
        ii = i_i[k] + xi
        vn = decay_v[k] * v[k] + gain_e[k] * ie + gain_i[k] * ii + bias[k] + direct[k] * (xe + xi)
        rk = r[k]
        held = rk > 0
        vk = v[k] if held else vn
        rk = rk - 1 if held else rk
        i_e[k] = ie * decay_e[k]
        i_i[k] = ii * decay_i[k]
        spike = vk >= vth[k]
        fired[k] = spike
        v[k] = vreset[k] if spike else vk
        r[k] = refrac[k] if spike else rk
    n_spk = 0
    for k in range(n):
        if fired[k]:
            out[n_spk] = k
            n_spk += 1
    return n_spk


@numba.njit(cache=True, nogil=True)
def _run(t0, t1, ring, routing, ev_s, ev_i, n_ev, v, i_e, i_i, r, decay_v, gain_e, gain_i,
         decay_e, decay_i, bias, vth, vreset, refrac, direct, fired, out):
    depth = ring.shape[0]
    for t in range(t0, t1):
        n_spk = _step(v, i_e, i_i, r, ring[t % depth], decay_v, gain_e, gain_i, decay_e, decay_i,
                      bias, vth, vreset, refrac, direct, fired, out)
        ev_s, ev_i, n_ev = deliver(ring, t, out, n_spk, routing, ev_s, ev_i, n_ev)
    return ev_s, ev_i, n_ev


class FloatKernel(Kernel):
    name = "float"
    accum_dtype = np.float64
    stage = "step"

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        c = {k: self.concat(k, np.float64) for k in (
            "decay_v", "gain_E", "gain_I", "decay_E", "decay_I", "bias", "v_thresh", "v_reset", "v_init")}
        self._c = c
        self._refrac = self.concat("refrac", np.int64)
        # 1.0 where input adds straight to v (delta synapses), 0.0 where it enters I_E/I_I
        self._direct = np.concatenate(
            [np.full(p.size, float(p.synapse == "delta")) for p in net.populations]) if net.populations \
            else np.zeros(0)
        self._fired = np.zeros(self.n, dtype=np.bool_)
        self._out = np.empty(self.n, dtype=np.int64)

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.float64), "i_E": StateVar("i_E", np.float64),
                "i_I": StateVar("i_I", np.float64), "refrac": StateVar("refrac", np.int64)}

    def init_state(self):
        return {"v": self._c["v_init"].copy(), "i_E": np.zeros(self.n), "i_I": np.zeros(self.n),
                "refrac": np.zeros(self.n, dtype=np.int64)}

    def step(self, state, x):
        c = self._c
        n = _step(state["v"], state["i_E"], state["i_I"], state["refrac"], x, c["decay_v"],
                  c["gain_E"], c["gain_I"], c["decay_E"], c["decay_I"], c["bias"], c["v_thresh"],
                  c["v_reset"], self._refrac, self._direct, self._fired, self._out)
        return self._out[:n].copy()

    def run_steps(self, state, ring, t0, t1, routing, events):
        c = self._c
        return _run(t0, t1, ring, routing, *events, state["v"], state["i_E"], state["i_I"],
                    state["refrac"], c["decay_v"], c["gain_E"], c["gain_I"], c["decay_E"],
                    c["decay_I"], c["bias"], c["v_thresh"], c["v_reset"], self._refrac, self._direct,
                    self._fired, self._out)
