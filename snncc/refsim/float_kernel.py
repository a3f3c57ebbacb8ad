"""The ``float`` kernel: ideal float64 numerics of the discretised (step-stage) IR.

The coefficients come from the ``discretise`` pass, which integrates IF_curr_exp,
IF_curr_delta and IF exactly over one step (docs/numerics.md); this kernel applies
them in the order StepPopulation documents. :meth:`FloatKernel.step` is numpy (no numba
to load for a small run); the compiled loop (float_jit.py) computes the same
operations in the same order, so both give the same bits.
"""
from __future__ import annotations

import numpy as np

from .kernel import Kernel, StateVar, fired_flags

#: coefficient columns of the compiled loop's parameter table, in its order
COLUMNS = ("decay_v", "gain_E", "gain_I", "decay_E", "decay_I", "bias", "v_thresh", "v_reset")


class FloatKernel(Kernel):
    name = "float"
    accum_dtype = np.float64
    stage = "step"

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        keys = (*COLUMNS, "v_init")
        coefs = [p.coef for p in net.populations]
        try:        # every coefficient over all neurons in one concatenation: row k is keys[k]
            cols = np.concatenate([q[k] for k in keys for q in coefs], dtype=np.float64).reshape(len(keys), -1) \
                if coefs else np.zeros((len(keys), 0))
        except KeyError:
            cols = np.stack([self.concat(k, np.float64) for k in keys])    # Kernel.concat names the missing one
        self._cols = cols
        self._c = dict(zip(keys, cols))
        self._refrac = self.concat("refrac", np.int64)
        # 1.0 where input adds straight to v (delta synapses), 0.0 where it enters I_E/I_I
        self._direct = np.repeat(np.array([float(p.synapse == "delta") for p in net.populations]),
                                 [p.size for p in net.populations])

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.float64), "i_E": StateVar("i_E", np.float64),
                "i_I": StateVar("i_I", np.float64), "refrac": StateVar("refrac", np.int64)}

    def init_state(self):
        return {"v": self._c["v_init"].copy(), "i_E": np.zeros(self.n), "i_I": np.zeros(self.n),
                "refrac": np.zeros(self.n, dtype=np.int64)}

    def synapse_weights(self, prj) -> np.ndarray:
        return prj.weight if prj.weight.dtype in (np.float32, np.float64) else \
            np.asarray(prj.weight, np.float64)

    def step(self, state, x):
        c = self._c
        v, i_e, i_i, r = state["v"], state["i_E"], state["i_I"], state["refrac"]
        xe, xi = x[0], x[1]
        ie = i_e + xe
        ii = i_i + xi
        # decay_v*v + gain_E*I_E + gain_I*I_I + bias + direct*(x_E + x_I), left to right
        vn = c["decay_v"] * v
        vn += c["gain_E"] * ie
        vn += c["gain_I"] * ii
        vn += c["bias"]
        vn += self._direct * (xe + xi)
        held = r > 0
        vk = np.where(held, v, vn)
        rk = np.where(held, r - 1, r)
        np.multiply(ie, c["decay_E"], out=i_e)
        np.multiply(ii, c["decay_I"], out=i_i)
        spike = vk >= c["v_thresh"]
        v[:] = np.where(spike, c["v_reset"], vk)
        r[:] = np.where(spike, self._refrac, rk)
        return np.flatnonzero(spike)

    def compiled(self, state):
        from . import float_jit
        from .loop import runner
        # runs of neurons whose coefficients (COLUMNS, direct, refrac) are bit-identical (param_runs), one row of
        # the table and one refractory period each, in one compiled pass
        run_start, table, refrac = float_jit.coef_runs(self._cols, len(COLUMNS), self._direct, self._refrac)
        fired = fired_flags(self.n)
        K = (state["v"], state["i_E"], state["i_I"], state["refrac"], run_start, table, refrac,
             fired, fired.view(np.uint64))
        return runner(float_jit.run_par, float_jit.run_seq, K)
