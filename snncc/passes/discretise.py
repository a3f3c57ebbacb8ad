"""``discretise``: time constants to per-step coefficients, delays and spike times to steps.

IF_curr_exp is integrated exactly over one step, with synaptic input arriving as a
jump at the start of the step (docs/numerics.md)::

    decay_v = exp(-dt/tau_m)
    gain_X  = tau_m*tau_X/(cm*(tau_m - tau_X)) * (exp(-dt/tau_m) - exp(-dt/tau_X))   (dt/cm*exp(-dt/tau_m) if equal)
    bias    = (v_rest + i_offset*tau_m/cm) * (1 - decay_v)
    decay_X = exp(-dt/tau_X)

IF_curr_delta adds weights (mV) straight to v; IF has no leak (decay_v = 1,
bias = i_offset*dt/cm). Refractory periods, delays and spike times round to whole steps;
the report gives the largest change of each, counts the spike times at or after the end
of the run (dropped: the run never reaches them), and warns about those and about delays
that rounding moves by more than DELAY_WARN of their value. exp is :mod:`snncc.detmath`'s,
so the coefficients are the same doubles on every machine (numpy's SIMD exp is not).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Network, StepPopulation, StepProjection, StepSource
from ..errors import SnnccError
from ..numerics import delay_steps, step_coefficients, to_steps  # noqa: F401 (re-exported)
from .base import Pass, Report


#: a delay whose rounding to whole steps changes it by more than this fraction is warned about
DELAY_WARN = 0.1


def discretise_network(net: Network) -> tuple[Network, Report] | Network:
    return Discretise().run(net, None)[0]


@dataclass(frozen=True)
class Discretise(Pass):
    name = "discretise"
    requires = ("validated",)
    provides = ("discretised",)

    def run(self, net, target):
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
        report = Report(self.name, summary={
            "dt_ms": dt, "steps": net.steps,
            "max_delay_error_ms": max((r["delay_error_ms"] for r in prow), default=0.0),
            "spikes_after_end": sum(r["spikes_after_end"] for r in srow),
            "max_spike_time_change_ms": max((r["max_time_change_ms"] for r in srow), default=0.0),
        }, tables={"populations": rows, "projections": prow, "sources": srow}, warnings=warnings)
        return out, report
