"""The Potjans & Diesmann (2014) cortical microcircuit.

Parameters follow the PyNEST microcircuit example (``network_params.py``): eight
populations (L2/3, L4, L5, L6 x E, I; 77,169 neurons at full scale), connection
probabilities ``PD14.conn_probs[post][pre]`` realised as a fixed total number of
synapses per pair K = log(1 - C) / log(1 - 1/(N_pre N_post)) with multapses,
IF_curr_exp neurons (C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms, E_L = V_reset -65 mV,
V_th -50 mV, t_ref 2 ms), PSCs from a 0.15 mV mean PSP (87.8 pA, sd 10 %, g = -4,
L4E -> L2/3E doubled), delays normal (E 1.5 +- 0.75 ms, I 0.75 +- 0.375 ms, at least
one step), initial v normal(-58, 10) mV and external input of K_ext x 8 Hz.

``scale`` scales the neuron numbers with the connection probabilities kept, so the
in-degrees scale with ``scale`` and the synapse count with ``scale**2`` (10 %: 7,717
neurons, ~3 M synapses). As in the NEST example, ``compensate=True`` scales weights
by ``1/sqrt(K scaling)`` and adds the DC that restores each population's mean input
at the full-scale rates ``PD14.full_mean_rates``.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np

from .. import detmath
from ..errors import SnnccError
from ..ir import Network, Population, Projection, SpikeSource
from ._connect import channel_projection_arrays, fixed_total, poisson_channels, poisson_spikes

PD14 = SimpleNamespace(
    populations=("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"),
    n_full=(20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948),
    conn_probs=(  # rows: post, columns: pre
        (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
        (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
        (0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0),
        (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
        (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
        (0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0),
        (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
        (0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443)),
    k_ext=(1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100),
    full_mean_rates=(0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851),  # Hz, NEST example
    bg_rate=8.0, psp_mean=0.15, psp_rel_sd=0.1, g=-4.0,
    delay_e=(1.5, 0.75), delay_i=(0.75, 0.375),
    neuron={"cm": 0.25, "tau_m": 10.0, "tau_syn_E": 0.5, "tau_syn_I": 0.5, "v_rest": -65.0,
            "v_reset": -65.0, "v_thresh": -50.0, "tau_refrac": 2.0},
    v0=(-58.0, 10.0),
)


def psc_per_psp(cm_nf: float, tau_m: float, tau_syn: float) -> float:
    """PSC amplitude (nA) giving a 1 mV peak PSP for IF_curr_exp."""
    cm = cm_nf * 1000.0  # pF
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / cm * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn)) / 1000.0


def synapse_counts(n: np.ndarray) -> np.ndarray:
    """K[post, pre]: total synapses per population pair for neuron numbers ``n``."""
    c = np.asarray(PD14.conn_probs)
    prod = np.outer(n, n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = detmath.log1p(-c) / detmath.log1p(-1.0 / prod)
    return np.where(c > 0, np.rint(k), 0).astype(np.int64)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _projection(rng: np.random.Generator, pre: int, post: int, n: np.ndarray, k: np.ndarray,
                w_mean: np.ndarray, dt: float) -> Projection:
    """One population pair's synapses: fixed total number, normal weights clipped at 0,
    normal delays rounded to steps (at least one), weights and delays in float32."""
    p = PD14
    a, b = fixed_total(rng, int(n[pre]), int(n[post]), int(k[post, pre]))
    exc = pre % 2 == 0
    mu = float(w_mean[post, pre])
    w = rng.standard_normal(a.size, dtype=np.float32)
    w *= np.float32(abs(mu) * p.psp_rel_sd)
    w += np.float32(mu)
    if exc:
        np.maximum(w, 0, out=w)
    else:
        np.minimum(w, 0, out=w)
    d_mu, d_sd = p.delay_e if exc else p.delay_i
    d = rng.standard_normal(a.size, dtype=np.float32)
    d *= np.float32(d_sd / dt)
    d += np.float32(d_mu / dt)
    np.rint(d, out=d)
    np.maximum(d, 1, out=d)
    d *= np.float32(dt)
    return Projection(f"{p.populations[pre]}_{p.populations[post]}", p.populations[pre],
                      p.populations[post], a, b, w, d, "excitatory" if exc else "inhibitory")


def potjans_diesmann(scale: float = 0.1, seed: int = 0, duration: float = 1000.0, dt: float = 0.1,
                     background: str = "dc", compensate: bool = True,
                     record: tuple[str, ...] = ("spikes",), threads: int | None = None) -> Network:
    """The microcircuit at ``scale`` (0 < scale <= 1) as a float-stage Network.

    Weights and delays are float32 (at full scale 0.3 G synapses; float64 would need
    2.4 GB more). ``threads`` draws the projections in parallel (default: one per
    core); the network is the same for any number."""
    if not 0 < scale <= 1:
        raise SnnccError(f"potjans_diesmann: scale = {scale}; it must be in (0, 1]")
    if background not in ("dc", "poisson"):
        raise SnnccError(f"potjans_diesmann: background '{background}' is not 'dc' or 'poisson'")
    rng = np.random.default_rng(seed)
    p = PD14
    n_full = np.asarray(p.n_full)
    n = np.maximum(1, np.rint(n_full * scale)).astype(np.int64)
    k = synapse_counts(n)
    k_full = synapse_counts(n_full)
    k_scaling = scale  # in-degree scaling when probabilities are kept
    nrn = p.neuron
    w_unit = psc_per_psp(nrn["cm"], nrn["tau_m"], nrn["tau_syn_E"]) * p.psp_mean  # ~0.0878 nA
    w_mean = np.tile([w_unit, p.g * w_unit] * 4, (8, 1))
    w_mean[0, 2] *= 2.0  # L4E -> L2/3E
    w_ext = w_unit
    dc = np.zeros(8)
    if background == "dc":
        dc += np.asarray(p.k_ext) * p.bg_rate * 1e-3 * w_ext * nrn["tau_syn_E"]
    if compensate and k_scaling != 1:
        indeg_full = k_full / n_full[:, None]
        rec = np.sum(w_mean * indeg_full * np.asarray(p.full_mean_rates)[None, :], axis=1)
        dc += 1e-3 * nrn["tau_syn_E"] * (1 - math.sqrt(k_scaling)) * rec
        w_mean = w_mean / math.sqrt(k_scaling)
        if background == "poisson":  # external in-degree scales too; DC restores the mean
            dc += 1e-3 * nrn["tau_syn_E"] * (1 - math.sqrt(k_scaling)) * (
                np.asarray(p.k_ext) * p.bg_rate * w_ext)
    ext_scale = k_scaling if compensate else 1.0
    pops = []
    for i, name in enumerate(p.populations):
        params = {kk: np.full(n[i], v) for kk, v in nrn.items()}
        params["i_offset"] = np.full(n[i], dc[i])
        v0 = rng.normal(p.v0[0], p.v0[1], n[i])
        pops.append(Population(name, int(n[i]), "lif", params, v0, record))
    pairs = [(post, pre) for post in range(8) for pre in range(8) if k[post, pre] > 0]
    streams = np.random.SeedSequence([seed, 1]).spawn(len(pairs))

    def connect(job):
        (post, pre), stream = job
        return _projection(np.random.default_rng(stream), pre, post, n, k, w_mean, dt)

    # one random stream per projection: the same network however many threads draw it
    # (numpy's generators release the GIL, so the 0.3 G synapses of full scale draw in parallel)
    workers = min(len(pairs), _cores()) if threads is None else max(1, threads)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            prjs = list(pool.map(connect, zip(pairs, streams)))
    else:
        prjs = [connect(job) for job in zip(pairs, streams)]
    srcs = []
    if background == "poisson":
        steps = int(round(duration / dt))
        for i, name in enumerate(p.populations):
            rate = p.k_ext[i] * ext_scale * p.bg_rate
            bits = poisson_channels(rate, dt)
            idx, t = poisson_spikes(rng, int(n[i]), rate, steps, dt, bits)
            srcs.append(SpikeSource(f"bg_{name}", int(n[i]) * bits, idx, t))
            a, b, w = channel_projection_arrays(int(n[i]), bits, w_ext / math.sqrt(ext_scale))
            prjs.append(Projection(f"bg_{name}_{name}", f"bg_{name}", name, a, b, w, np.full(a.size, dt)))
    return Network(f"potjans_diesmann_{scale:g}", dt, int(round(duration / dt)), pops, srcs, prjs)
