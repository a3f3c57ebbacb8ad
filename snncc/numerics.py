"""The discretisation maths and the IR's step limits that frontends, passes and the
reference simulator all use (the ``discretise`` and ``validate`` passes apply them; a frontend
checks a file against them before building a network). Formulas: docs/numerics.md; exp is
:mod:`snncc.detmath`'s, so the coefficients are the same doubles on every machine.
"""
from __future__ import annotations

import numpy as np

from . import detmath
from .lazyjit import njit

#: step counts (run length, delays, spike times) are int32 in the step-stage IR
MAX_STEPS = 2**31 - 1


def rounds_to_zero(delay_ms, dt: float) -> np.ndarray:
    """Which delays round to 0 steps, exactly as ``discretise`` rounds them (np.rint:
    half a step rounds to even, so dt/2 becomes 0 steps)."""
    with np.errstate(over="ignore"):       # beyond float range is inf steps: not zero; refused as too long
        return np.rint(np.asarray(delay_ms, dtype=np.float64) / dt) < 1


def gain(dt, tau_m, tau_s, cm):
    """Per-step gain of a jump of synaptic current into v, exactly integrated (docs/numerics.md)."""
    same = np.isclose(tau_m, tau_s, rtol=1e-12, atol=0.0)
    safe = np.where(same, tau_s * 2.0, tau_s)  # avoids 0/0 in the branch np.where discards
    g = tau_m * safe / (cm * (tau_m - safe)) * (detmath.exp(-dt / tau_m) - detmath.exp(-dt / safe))
    return np.where(same, dt / cm * detmath.exp(-dt / tau_m), g)


def step_coefficients(model: str, p: dict, dt: float) -> tuple[str, dict[str, np.ndarray]]:
    """(synapse kind, coefficient arrays) of one population's parameters."""
    n = len(next(iter(p.values())))
    zeros, ones = np.zeros(n), np.ones(n)
    if model == "if":
        decay_v = ones
        bias = p["i_offset"] * dt / p["cm"]
    else:
        decay_v = detmath.exp(-dt / p["tau_m"])
        bias = (p["v_rest"] + p["i_offset"] * p["tau_m"] / p["cm"]) * (1.0 - decay_v)
    if model == "lif":
        syn = "exp"
        gain_e = gain(dt, p["tau_m"], p["tau_syn_E"], p["cm"])
        gain_i = gain(dt, p["tau_m"], p["tau_syn_I"], p["cm"])
        decay_e, decay_i = detmath.exp(-dt / p["tau_syn_E"]), detmath.exp(-dt / p["tau_syn_I"])
    else:
        syn = "delta"
        gain_e = gain_i = decay_e = decay_i = zeros
    coef = {"decay_v": decay_v, "gain_E": gain_e, "gain_I": gain_i, "decay_E": decay_e,
            "decay_I": decay_i, "bias": bias, "v_thresh": p["v_thresh"], "v_reset": p["v_reset"],
            "refrac": np.round(p["tau_refrac"] / dt)}
    return syn, coef


def to_steps(ms: np.ndarray, dt: float) -> np.ndarray:
    return np.rint(np.asarray(ms, dtype=np.float64) / dt).astype(np.int64)


def delay_steps(ms: np.ndarray, dt: float) -> tuple[np.ndarray, int, int, float]:
    """(:func:`to_steps` of synaptic delays in int16 where they fit, else int32; the
    smallest and largest step; the largest rounding error in ms), in one pass over the
    synapses. Validate has bounded delays to MAX_STEPS, so int32 always holds them."""
    if ms.size == 0:
        return np.zeros(0, np.int16), 0, 0, 0.0
    top = float(np.rint(float(np.max(ms)) / dt))
    dtype = np.int16 if top < (1 << 15) else np.int32
    if ms.size < NUMBA_FROM:
        steps = to_steps(ms, dt)
        return steps.astype(dtype), int(steps.min()), int(steps.max()), float(np.abs(ms - steps * dt).max())
    out = np.empty(ms.shape[0], dtype=dtype)
    lo, hi, err = _delay_steps(ms, float(dt), out)
    return out, int(lo), int(hi), float(err)


#: synapses from which the one-pass numba loop beats numpy's temporaries by more than
#: the ~0.3 s it costs to load on a compile's first call
NUMBA_FROM = 1 << 22


@njit(cache=True, nogil=True)
def _delay_steps(ms, dt, out):
    lo, hi, err = np.int64(1) << 62, -(np.int64(1) << 62), 0.0
    for k in range(ms.shape[0]):
        x = np.float64(ms[k])
        v = np.rint(x / dt)
        iv = np.int64(v)
        out[k] = iv
        lo = min(lo, iv)
        hi = max(hi, iv)
        err = max(err, abs(x - v * dt))
    return lo, hi, err
