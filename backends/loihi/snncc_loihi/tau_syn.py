"""One current decay for two synaptic time constants (``-O tau_syn``).

Lava's LIF has one current ``u`` with one decay ``du`` for all its inputs, so where
``tau_syn_E != tau_syn_I`` one decay ``d`` serves both receptors. Each receptor's
weights are scaled by ``(1 - d) / (1 - d_X)`` so that an input spike still delivers its
whole charge; what changes is when: the normalised current kernel ``(1 - d) d**n``
replaces ``(1 - d_X) d_X**n``. Their total-variation distance - the fraction of a
spike's charge that arrives at other steps than in the model - is the cost reported
per receptor (:func:`misplaced_charge`; closed form, since the kernels cross once).

Choices: ``E``, ``I``, ``mean`` (the decay of the mean time constant) and ``auto``
(default): a receptor with no synapses onto the population costs nothing, so the
other's decay is taken exactly; otherwise ``d`` minimises ``sum_X Q_X * cost_X(d)**2``,
``Q_X`` being the receptor's share of the population's input charge (sum of |w| times
the charge of one unit spike). ``error`` refuses instead. Why no second current path
(graded spikes, a second compartment) realises both decays instead: docs/loihi-numerics.md.
"""
from __future__ import annotations

import numpy as np

from snncc.plugin import SnnccError, detmath

TAU_SYN_CHOICES = ("auto", "E", "I", "mean", "error")


def misplaced_charge(a, b) -> np.ndarray:
    """Total-variation distance between the kernels ``(1-a) a**n`` and ``(1-b) b**n``
    (n = 0, 1, ...), elementwise; 0 where ``a == b``, at most 1.

    The kernel of the smaller ratio starts higher and the two cross once, at
    ``n* = ln((1-hi)/(1-lo)) / ln(lo/hi)``; the distance is ``hi**n0 - lo**n0`` with
    ``n0 = max(1, ceil(n*))``, the charge the faster kernel has delivered before the
    crossing in excess of the slower one.
    """
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    out = np.zeros(a.shape)
    m = hi > lo
    if not m.any():
        return out
    lo_m, hi_m = lo[m], hi[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        n_star = np.where(lo_m > 0, detmath.log((1 - hi_m) / (1 - lo_m)) / detmath.log(lo_m / hi_m), 1.0)
    # at n = 0 the faster kernel is always the higher one, so the crossing is at n0 >= 1
    n0 = np.maximum(np.ceil(np.nan_to_num(n_star, nan=1.0, posinf=1.0) - 1e-12), 1.0)
    out[m] = hi_m ** n0 - lo_m ** n0
    return np.clip(out, 0.0, 1.0)


def _tau(d, dt: float = 1.0):
    """Time constant (in units of dt) of a per-step decay ``d`` (0 for d = 0)."""
    d = np.asarray(d, np.float64)
    with np.errstate(divide="ignore"):
        return np.where(d > 0, -dt / detmath.log(np.where(d > 0, d, 0.5)), 0.0)


def _auto(d_e: float, d_i: float, q_e: float, q_i: float) -> float:
    """The decay between d_e and d_i minimising q_e * cost_e**2 + q_i * cost_i**2 (ternary
    search on the time constant: each cost grows monotonically away from its own decay)."""
    if q_i <= 0:
        return d_e
    if q_e <= 0:
        return d_i
    lo, hi = sorted((float(_tau(d_e)), float(_tau(d_i))))

    def f(tau):
        d = float(detmath.exp(-1.0 / tau)) if tau > 0 else 0.0
        return q_e * float(misplaced_charge(d_e, d)) ** 2 + q_i * float(misplaced_charge(d_i, d)) ** 2

    if lo <= 0:
        lo = min(hi, 1e-3)
    a, b = float(detmath.log(lo)), float(detmath.log(hi))
    for _ in range(80):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if f(float(detmath.exp(m1))) <= f(float(detmath.exp(m2))):
            b = m2
        else:
            a = m1
    return float(detmath.exp(-1.0 / float(detmath.exp(0.5 * (a + b)))))


def one_decay(p, choice: str, drive: tuple[float, float], dt: float):
    """(decay d per neuron, gain_E, gain_I, report row or None) of step population ``p``.

    ``drive``: the summed |weight| of the population's excitatory and inhibitory synapses;
    ``dt``: the step in ms (for the report). The row's ``warning`` is None where the decay
    is exact for every receptor that has synapses onto the population.
    """
    c = p.coef
    d_e, d_i = np.asarray(c["decay_E"], np.float64), np.asarray(c["decay_I"], np.float64)
    if np.allclose(d_e, d_i, rtol=0.0, atol=1e-12):
        return d_e, np.asarray(c["gain_E"]), np.asarray(c["gain_I"]), None
    k = int(np.argmax(np.abs(d_e - d_i)))
    if choice == "error":
        raise SnnccError(
            f"population '{p.name}': tau_syn_E and tau_syn_I differ (neuron {k}: decay per step "
            f"{d_e[k]:.6g} vs {d_i[k]:.6g}); Loihi's LIF has one current u with one decay du "
            "for all its inputs", p.loc,
            hint="set tau_syn_E = tau_syn_I, or compile with -O tau_syn=auto (the default), E, I or "
                 "mean (one time constant, each receptor's charge kept; docs/loihi-numerics.md)")
    g_e0, g_i0 = np.asarray(c["gain_E"], np.float64), np.asarray(c["gain_I"], np.float64)
    if choice == "E":
        d = d_e.copy()
    elif choice == "I":
        d = d_i.copy()
    elif choice == "mean":
        d = detmath.exp(-1.0 / (0.5 * (_tau(d_e) + _tau(d_i))))
    else:
        # charge of one unit spike per receptor (gain / (1 - d)), times the summed |w|
        q_e = drive[0] * float(np.mean(g_e0 / np.maximum(1.0 - d_e, 1e-300)))
        q_i = drive[1] * float(np.mean(g_i0 / np.maximum(1.0 - d_i, 1e-300)))
        pairs, inv = np.unique(np.stack([d_e, d_i]), axis=1, return_inverse=True)
        best = np.array([_auto(a, b, q_e, q_i) for a, b in pairs.T])
        d = best[np.asarray(inv).reshape(-1)]
    # Keep each receptor's total charge per input spike: gain_X / (1 - d_X) == c_X / (1 - d).
    g_e = g_e0 * (1.0 - d) / (1.0 - d_e)
    g_i = g_i0 * (1.0 - d) / (1.0 - d_i)
    # the decay Lava realises (12-bit du), for the report
    du = np.clip(4095 - np.rint(4096.0 * d), 0, 4095)
    real = (4095 - du) / 4096.0
    cost_e, cost_i = misplaced_charge(d_e, real), misplaced_charge(d_i, real)
    unused = "I" if drive[1] <= 0 else "E" if drive[0] <= 0 else None
    row = {"population": p.name, "choice": choice,
           "tau_syn_E_ms": float(_tau(d_e[k], dt)), "tau_syn_I_ms": float(_tau(d_i[k], dt)),
           "realised_ms": float(_tau(real[k], dt)),
           "misplaced_charge_E": 0.0 if unused == "E" else float(cost_e.max()),
           "misplaced_charge_I": 0.0 if unused == "I" else float(cost_i.max()),
           "unused_receptor": unused, "warning": None}
    if max(row["misplaced_charge_E"], row["misplaced_charge_I"]) > 0.005:
        row["warning"] = (
            f"population '{p.name}': tau_syn_E = {row['tau_syn_E_ms']:.4g} ms and tau_syn_I = "
            f"{row['tau_syn_I_ms']:.4g} ms, but Lava's LIF has one current decay: both realised as "
            f"{row['realised_ms']:.4g} ms (-O tau_syn={choice}); each input spike keeps its charge, and "
            f"{row['misplaced_charge_E']:.0%} (E) / {row['misplaced_charge_I']:.0%} (I) of it arrives at "
            "other steps than in the model (the report's tau_syn and agreement tables give the cost)")
    return d, g_e, g_i, row
