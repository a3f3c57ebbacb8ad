"""The ``float`` kernel: ideal float64 numerics of the discretised (step-stage) IR.

The coefficients come from the ``discretise`` pass, which integrates IF_curr_exp,
IF_curr_delta and IF exactly over one step (docs/numerics.md); this kernel applies
them in the order StepPopulation documents.
"""
from __future__ import annotations

import numba
import numpy as np

from .kernel import Kernel, StateVar


@numba.njit(cache=True, nogil=True)
def _step(v, i_e, i_i, r, x, decay_v, gain_e, gain_i, decay_e, decay_i, bias, vth, vreset,
          refrac, delta, out):
    n_spk = 0
    for k in range(v.shape[0]):
        direct = 0.0
        if delta[k]:
            direct = x[0, k] + x[1, k]
        else:
            i_e[k] += x[0, k]
            i_i[k] += x[1, k]
        if r[k] > 0:
            r[k] -= 1
        else:
            v[k] = decay_v[k] * v[k] + gain_e[k] * i_e[k] + gain_i[k] * i_i[k] + bias[k] + direct
        i_e[k] *= decay_e[k]
        i_i[k] *= decay_i[k]
        if v[k] >= vth[k]:
            out[n_spk] = k
            n_spk += 1
            v[k] = vreset[k]
            r[k] = refrac[k]
    return n_spk


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
        self._delta = np.concatenate(
            [np.full(p.size, p.synapse == "delta") for p in net.populations]) if net.populations \
            else np.zeros(0, bool)
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
                  c["v_reset"], self._refrac, self._delta, self._out)
        return self._out[:n].copy()
