"""The CUBA benchmark (Vogels & Abbott 2005) as in Brian2's ``CUBA.py`` example.

4000 IF_curr_exp neurons (3200 excitatory, 800 inhibitory), 2 % random
connectivity, tau_m 20 ms, tau_E 5 ms, tau_I 10 ms, v_rest -49 mV above threshold
-50 mV (so activity is self-sustained without input), reset -60 mV, refractory 5 ms.
Brian2's voltage jumps we = 1.62 mV and wi = -9 mV are PyNN currents through
R = tau_m/cm = 100 MOhm: 0.0162 nA and -0.09 nA. Brian2 has no delay; here every
synapse has the shortest legal delay, one step.
"""
from __future__ import annotations

import numpy as np

from ..ir import Network, Population, Projection
from ._connect import bernoulli_pairs

PARAMS = {"cm": 0.2, "tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0, "v_rest": -49.0,
          "v_reset": -60.0, "v_thresh": -50.0, "tau_refrac": 5.0, "i_offset": 0.0}
W_EXC, W_INH = 0.0162, -0.09   # nA


def cuba(n: int = 4000, p: float = 0.02, duration: float = 1000.0, dt: float = 0.1, seed: int = 0,
         delay: float | None = None, split: bool = False) -> Network:
    """The CUBA network of ``n`` neurons (80 % excitatory) for ``duration`` ms.

    ``split=False`` gives one population ``cuba`` (exc = indices < 0.8 n) as Brian2
    does; ``split=True`` gives populations ``exc`` and ``inh``.
    """
    rng = np.random.default_rng(seed)
    n_e = int(round(0.8 * n))
    n_i = n - n_e
    delay = dt if delay is None else delay
    v0 = PARAMS["v_reset"] + rng.random(n) * (PARAMS["v_thresh"] - PARAMS["v_reset"])

    def pop(name, size, v):
        return Population(name, size, "lif", {k: np.full(size, v_) for k, v_ in PARAMS.items()}, v)

    def prj(name, pre, post, w, receptor, n_pre, n_post, pre_off=0):
        a, b = bernoulli_pairs(rng, n_pre, n_post, p)
        return Projection(name, pre, post, a + pre_off, b, np.full(a.size, w), np.full(a.size, delay),
                          receptor)

    if split:
        pops = [pop("exc", n_e, v0[:n_e]), pop("inh", n_i, v0[n_e:])]
        prjs = [prj(f"{a}_{b}", a, b, W_EXC if a == "exc" else W_INH,
                    "excitatory" if a == "exc" else "inhibitory",
                    n_e if a == "exc" else n_i, n_e if b == "exc" else n_i)
                for a in ("exc", "inh") for b in ("exc", "inh")]
    else:
        pops = [pop("cuba", n, v0)]
        prjs = [prj("exc", "cuba", "cuba", W_EXC, "excitatory", n_e, n),
                prj("inh", "cuba", "cuba", W_INH, "inhibitory", n_i, n, pre_off=n_e)]
    return Network("cuba", dt, int(round(duration / dt)), pops, (), prjs)
