"""The ``float`` kernel: ideal float64 numerics of the discretised (step-stage) IR.

The coefficients come from the ``discretise`` pass, which integrates IF_curr_exp,
IF_curr_delta and IF exactly over one step (docs/numerics.md); this kernel applies
them in the order StepPopulation documents. :meth:`FloatKernel.step` is numpy (no numba
to load for a small run); the compiled loop (float_jit.py) computes the same
operations in the same order, so both give the same bits.
"""
from __future__ import annotations

import numpy as np

from .kernel import Kernel, StateVar, fired_flags, param_runs

#: coefficient columns of the compiled loop's parameter table, in its order
COLUMNS = ("decay_v", "gain_E", "gain_I", "decay_E", "decay_I", "bias", "v_thresh", "v_reset")


class FloatKernel(Kernel):
    name = "float"
    accum_dtype = np.float64
    stage = "step"

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        coefs = [p.coef for p in net.populations]
        try:        # each coefficient over all neurons (Kernel.concat, without its checks per population)
            c = {k: np.concatenate([q[k] for q in coefs], dtype=np.float64) if coefs else np.zeros(0)
                 for k in (*COLUMNS, "v_init")}
        except KeyError:
            c = {k: self.concat(k, np.float64) for k in (*COLUMNS, "v_init")}    # names the missing one
        self._c = c
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
        table = np.stack([self._c[k] for k in COLUMNS] + [self._direct], axis=1) if self.n \
            else np.zeros((0, len(COLUMNS) + 1))
        keyed = np.concatenate((table, self._refrac.view(np.float64)[:, None]), axis=1)
        run_start, first = param_runs(keyed)
        fired = fired_flags(self.n)
        K = (state["v"], state["i_E"], state["i_I"], state["refrac"], run_start,
             np.ascontiguousarray(table[first]), np.ascontiguousarray(self._refrac[first]),
             fired, fired.view(np.uint64))
        return runner(float_jit.run_par, float_jit.run_seq, K)
