"""The ``fpga`` numerics kernel: the integer arithmetic of hdl/snn_ctrl.v, bit for bit.

docs/fpga-numerics.md is the specification; every line below has its Verilog twin in
the "neuron arithmetic" block of snn_ctrl.v. Per step, for every neuron (int16 state)::

    xE, xI = wrap16(ring sums)                       (fan-in is bounded: never wraps in practice)
    iE1 = sat16(iE + (xE << kw));   iI1 = sat16(iI + (xI << kw))
    if r > 0:  v1 = v;  r1 = r - 1
    else:      v1 = sat16(v - (no_leak ? 0 : leak(v)) + iE1 + iI1 + bias);  r1 = r
    iE = iE1 - dec_E(iE1);  iI = iI1 - dec_I(iI1)            (ke, ki = 0: delta synapse, 0)
    if r == 0 and v1 >= th:  spike; v = subtract ? sat16(v1 - th) : reset;  r = refrac
    else:                    v = v1; r = r1

``>>`` is an arithmetic shift (floor division by a power of two). A parameter set decays by
shifts, ``leak(v) = v >> kl``, ``dec_E(i) = i >> ke``, or with its ``fine`` bit (a FINE core,
-O decay=multiply) by the multipliers, ``leak(v) = (v * m_leak) >> 16`` and
``dec_E(i) = (i * m_e) >> 16`` where ke != 0 (snn_lif.v keeps bits 31:16 of the signed 33-bit
product: floor, as here).
"""
from __future__ import annotations

import numpy as np

from snncc.plugin import Kernel, StateVar, saturate, wrap

from .limits import ACC_BITS, FINE_BITS, I_BITS, REFRAC_BITS, V_BITS

#: per-neuron parameters of a FixedPopulation for this kernel, with their widths
PARAMS = {"th": 16, "reset": 16, "bias": 16, "v_init": 16, "k_leak": 4, "k_e": 4, "k_i": 4,
          "k_w": 4, "refrac": REFRAC_BITS, "subtract": 1, "no_leak": 1,
          "fine": 1, "m_leak": FINE_BITS, "m_e": FINE_BITS, "m_i": FINE_BITS}


def fine_part(x, m, bits: int = FINE_BITS):
    """(x * m) >> 16: bits 31:16 of snn_lif.v's signed product of x and the unsigned multiplier."""
    return (x * m) >> bits


class FpgaKernel(Kernel):
    name = "fpga"
    accum_dtype = np.int64
    stage = "fixed"

    def __init__(self, net, strict: bool = False):
        super().__init__(net, strict)
        from .lower import FINE_PARAMS
        old = [p for p in net.populations if "fine" not in getattr(p, "params", {})]
        # a build lowered before -O decay has no multipliers: it decays by shifts
        self.p = {k: (np.zeros(self.n, np.int64) if k in FINE_PARAMS and old else self.concat(k)) for k in PARAMS}

    @property
    def state_vars(self):
        return {"v": StateVar("v", np.int64, V_BITS), "i_E": StateVar("i_E", np.int64, I_BITS),
                "i_I": StateVar("i_I", np.int64, I_BITS),
                "refrac": StateVar("refrac", np.int64, 16, signed=False)}

    def init_state(self):
        z = np.zeros(self.n, dtype=np.int64)
        return {"v": self.p["v_init"].copy(), "i_E": z.copy(), "i_I": z.copy(), "refrac": z.copy()}

    def step(self, state, x):
        p = self.p
        v, ie, ii, r = state["v"], state["i_E"], state["i_I"], state["refrac"]
        xe, xi = wrap(x[0], ACC_BITS), wrap(x[1], ACC_BITS)
        ie1 = saturate(ie + (xe << p["k_w"]), I_BITS)
        ii1 = saturate(ii + (xi << p["k_w"]), I_BITS)
        refr = r != 0
        fine = p["fine"] != 0
        leak = np.where(p["no_leak"] != 0, 0, np.where(fine, fine_part(v, p["m_leak"]), v >> p["k_leak"]))
        v1 = np.where(refr, v, saturate(v - leak + ie1 + ii1 + p["bias"], V_BITS))
        r1 = np.where(refr, r - 1, r)
        spike = ~refr & (v1 >= p["th"])          # a refractory neuron never fires
        after = np.where(p["subtract"] != 0, saturate(v1 - p["th"], V_BITS), p["reset"])
        state["v"][:] = np.where(spike, after, v1)
        state["refrac"][:] = np.where(spike, p["refrac"], r1)
        state["i_E"][:] = ie1 - np.where(fine & (p["k_e"] != 0), fine_part(ie1, p["m_e"]), ie1 >> p["k_e"])
        state["i_I"][:] = ii1 - np.where(fine & (p["k_i"] != 0), fine_part(ii1, p["m_i"]), ii1 >> p["k_i"])
        return np.flatnonzero(spike).astype(np.int64)

    #: parameter rows of the compiled loop (kernel_jit.py), in its order
    ROWS = ("th", "reset", "bias", "k_leak", "k_e", "k_i", "k_w", "refrac", "subtract", "no_leak",
            "fine", "m_leak", "m_e", "m_i")

    def compiled(self, state):
        from snncc.plugin import fired_flags, param_runs, runner

        from . import kernel_jit as J
        table = np.stack([self.p[k] for k in self.ROWS], axis=1) if self.n \
            else np.zeros((0, len(self.ROWS)), np.int64)
        run_start, first = param_runs(table)
        fired = fired_flags(self.n)
        K = (state["v"], state["i_E"], state["i_I"], state["refrac"], run_start,
             np.ascontiguousarray(table[first]), fired, fired.view(np.uint64))

        return runner(J.run_par, J.run_seq, K)

    def plasticity(self, net, wiring):
        """The core's integer pair-STDP rule (stdp.py) for the engine's per-step hook."""
        from .stdp import FpgaSTDP
        return FpgaSTDP(net, wiring)
