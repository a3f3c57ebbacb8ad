"""Brunel (2000) sparse network of excitatory and inhibitory delta-synapse LIF neurons.

Model A of the paper: N_E = 10,000 and N_I = 2,500 at ``scale=1``, each neuron
receiving C_E = 0.1 N_E excitatory and C_I = 0.1 N_I inhibitory inputs (fixed
in-degree; 15.6 M synapses), J = 0.1 mV, inhibition g*J, delay D = 1.5 ms,
tau_m 20 ms, theta 20 mV, V_r 10 mV, tau_rp 2 ms. External drive: C_E Poisson
inputs of rate eta * nu_thr each, as one Poisson count per neuron and step of C_E
times that rate, carried by binary-weighted source channels so several events in one
step add up exactly (``background="poisson"``), or as its mean current (``"dc"``).
"""
from __future__ import annotations

import numpy as np

from ..errors import SnnccError
from ..ir import Network, Population, Projection, SpikeSource
from ._connect import channel_projection_arrays, fixed_indegree, poisson_channels, poisson_spikes

TAU_M, THETA, V_R, T_REF, CM = 20.0, 20.0, 10.0, 2.0, 1.0


def brunel(scale: float = 1.0, g: float = 5.0, eta: float = 2.0, J: float = 0.1, delay: float = 1.5,
           duration: float = 200.0, dt: float = 0.1, seed: int = 0, background: str = "poisson",
           epsilon: float = 0.1) -> Network:
    if background not in ("poisson", "dc"):
        raise SnnccError(f"brunel: background '{background}' is not 'poisson' or 'dc'")
    rng = np.random.default_rng(seed)
    n_e, n_i = int(round(10000 * scale)), int(round(2500 * scale))
    c_e, c_i = max(1, int(round(epsilon * n_e))), max(1, int(round(epsilon * n_i)))
    nu_thr = THETA / (J * c_e * TAU_M)          # per ms
    nu_ext = eta * nu_thr                      # per ms, per external synapse
    steps = int(round(duration / dt))
    i_offset = 0.0
    if background == "dc":
        i_offset = c_e * J * nu_ext * TAU_M * CM / TAU_M   # mean drive mu = C_E J nu_ext tau, as a current
    params = {"cm": CM, "tau_m": TAU_M, "tau_refrac": T_REF, "v_rest": 0.0, "v_reset": V_R,
              "v_thresh": THETA, "i_offset": i_offset}
    pops, prjs, srcs = [], [], []
    for name, size in (("E", n_e), ("I", n_i)):
        v0 = rng.uniform(0.0, THETA, size)
        pops.append(Population(name, size, "lif_delta", {k: np.full(size, v) for k, v in params.items()}, v0))
    for pre, n_pre, c, w, rec in (("E", n_e, c_e, J, "excitatory"), ("I", n_i, c_i, -g * J, "inhibitory")):
        for post, n_post in (("E", n_e), ("I", n_i)):
            a, b = fixed_indegree(rng, n_pre, n_post, c)
            prjs.append(Projection(f"{pre}{post}", pre, post, a, b, np.full(a.size, w),
                                   np.full(a.size, delay), rec))
    if background == "poisson":
        rate = c_e * nu_ext * 1000.0
        bits = poisson_channels(rate, dt)
        for post, n_post in (("E", n_e), ("I", n_i)):
            idx, t = poisson_spikes(rng, n_post, rate, steps, dt, bits)
            srcs.append(SpikeSource(f"ext_{post}", n_post * bits, idx, t))
            a, b, w = channel_projection_arrays(n_post, bits, J)
            prjs.append(Projection(f"ext_{post}_{post}", f"ext_{post}", post, a, b, w, np.full(a.size, dt),
                                   "excitatory"))
    return Network("brunel", dt, steps, pops, srcs, prjs)
