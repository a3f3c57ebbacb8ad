"""The discretisation maths and the IR's step limits that frontends, passes and the
reference simulator all use (the ``discretise`` and ``validate`` passes apply them; a frontend
checks a file against them before building a network). Formulas: docs/numerics.md; exp is
:mod:`snncc.detmath`'s, so the coefficients are the same doubles on every machine.
"""
from __future__ import annotations

import numpy as np

from . import detmath
from .errors import SnnccError
from .ir import Network, StepPopulation, StepProjection, StepSource
from .lazyjit import njit

#: a delay whose rounding to whole steps changes it by more than this fraction is warned about
DELAY_WARN = 0.1

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


def discretise(net: Network) -> tuple[Network, dict, dict, list[str]]:
    """A validated float network at the step stage (docs/numerics.md), with what the rounding
    changed: (network, summary, tables, warnings) - the ``discretise`` pass's report."""
    dt = net.dt
    pops, rows = [], []
    for p in net.populations:
        with np.errstate(over="ignore", invalid="ignore"):
            syn, coef = step_coefficients(p.model, dict(p.params), dt)
        for key, arr in coef.items():
            if not np.all(np.isfinite(arr)):   # e.g. tau_m = 1e308: the gain overflows
                k = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise SnnccError(f"population '{p.name}': the per-step {key} of neuron {k} is {arr[k]} "
                                 f"at dt = {dt:g} ms (tau_m = {p.params['tau_m'][k]:g} ms, "
                                 f"cm = {p.params['cm'][k]:g} nF)", p.loc,
                                 hint="use parameters within a physical range")
        coef["v_init"] = p.v_init
        ref_err = np.abs(p.params["tau_refrac"] - coef["refrac"] * dt)
        pops.append(StepPopulation(p.name, p.size, p.model, syn, coef, p.record, p.loc))
        rows.append({"population": p.name, "model": p.model, "synapse": syn,
                     "decay_v": float(coef["decay_v"].mean()),
                     "refrac_steps": int(coef["refrac"].max()),
                     "refrac_error_ms": float(ref_err.max()) if p.size else 0.0})
    srcs, srow, warnings = [], [], []
    for s in net.sources:
        steps = to_steps(s.times, dt)
        srcs.append(StepSource(s.name, s.size, s.index, steps, s.record, s.loc, s.input_port))
        late = int(np.count_nonzero(steps >= net.steps))
        change = float(np.abs(s.times - steps * dt).max()) if steps.size else 0.0
        srow.append({"source": s.name, "spikes": int(steps.size), "spikes_after_end": late,
                     "max_time_change_ms": change})
        if late:
            warnings.append(f"source '{s.name}': {late} of {steps.size} spike times lie at or after the "
                            f"end of the run ({net.steps * dt:g} ms) and are dropped")
    prjs, prow = [], []
    for prj in net.projections:
        d, lo, hi, err = delay_steps(prj.delay, dt)
        prjs.append(StepProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx,
                                   prj.weight, d, prj.receptor, prj.plasticity, prj.loc))
        row = {"projection": prj.name, "synapses": prj.n_synapses,
               "min_delay_steps": lo, "max_delay_steps": hi, "delay_error_ms": err}
        if err > 0:
            rel = np.abs(prj.delay - d * dt) / prj.delay
            k = int(np.argmax(rel))
            row["delays_changed"] = int(np.count_nonzero(rel > 1e-12))
            row["max_delay_change_fraction"] = float(rel[k])
            if rel[k] > DELAY_WARN:
                warnings.append(
                    f"projection '{prj.name}': delays rounded to whole steps of {dt:g} ms change by "
                    f"up to {rel[k]:.0%} ({prj.delay[k]:g} ms becomes {int(d[k]) * dt:g} ms; "
                    f"{row['delays_changed']} of {prj.n_synapses} synapses changed)")
        prow.append(row)
    out = net.with_(populations=pops, sources=srcs, projections=prjs, stage="step")
    summary = {
        "dt_ms": dt, "steps": net.steps,
        "max_delay_error_ms": max((r["delay_error_ms"] for r in prow), default=0.0),
        "spikes_after_end": sum(r["spikes_after_end"] for r in srow),
        "max_spike_time_change_ms": max((r["max_time_change_ms"] for r in srow), default=0.0),
    }
    return out, summary, {"populations": rows, "projections": prow, "sources": srow}, warnings
