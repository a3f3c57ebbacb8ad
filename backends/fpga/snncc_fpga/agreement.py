"""Float model against the ``fpga`` kernel on a short run: what the core's rounding costs in spikes.

The ``fpga-decay`` table states the time constants the core realises; this shows what they
(and the weight and threshold rounding) do to the spikes. The float reference simulator runs
the model's step-stage network (``fpga-decay`` hands it over through the pipeline's
analyses) and the ``fpga`` kernel - which the board equals bit for bit - the lowered one, on
the same input spikes for the first ``steps`` steps; per population the report gets the mean
rates, the relative rate error, the Pearson correlation over neurons of the spike counts, and
the fraction of the float model's spikes the fpga raster has within one step on the same
neuron (timing, which counts miss: a synfire volley that laps slower fires as often).
The relay neurons of the delays pass are left out. Cost: two reference-simulator runs of
``steps`` on a network the board holds (at most a few thousand neurons).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc.plugin import Network, Pass, Report

#: model time the comparison runs by default (ms), and the synapses x steps it may cost
DEFAULT_MS = 300.0
WORK = 500_000_000
MIN_STEPS = 50
#: where fpga-decay leaves the step-stage model for fpga-agreement (the pipeline's Analyses)
MODEL_KEY = "fpga-float-model"


def default_steps(net: Network) -> int:
    return int(min(net.steps, round(DEFAULT_MS / net.dt), max(MIN_STEPS, WORK // max(net.n_synapses, 1))))


def coincident(ref, low, name: str, tol: int = 1) -> float | None:
    """Fraction of ``ref``'s spikes of population ``name`` that ``low`` has within ``tol`` steps on
    the same neuron (None without spikes in ``ref``): spike timing, which counts do not see."""
    (sa, ia), (sb, ib) = ref.spikes[name], low.spikes[name]
    if sa.size == 0:
        return None
    if sb.size == 0:
        return 0.0
    span = int(max(sa.max(), sb.max())) + 2 * tol + 2     # keys of two neurons stay > tol apart
    ka = ia.astype(np.int64) * span + sa.astype(np.int64)
    kb = np.sort(ib.astype(np.int64) * span + sb.astype(np.int64))
    j = np.searchsorted(kb, ka)
    near = np.minimum(np.abs(ka - kb[np.clip(j, 0, kb.size - 1)]), np.abs(ka - kb[np.clip(j - 1, 0, kb.size - 1)]))
    return float((near <= tol).mean())


def spike_count_rows(ref, low, names) -> list[dict]:
    """Per population: rates (Hz), relative rate error, the correlation over neurons of the spike
    counts (None where either is constant) and the coincident fraction (:func:`coincident`)."""
    rows = []
    for name in names:
        a, b = ref.counts(name).astype(np.float64), low.counts(name).astype(np.float64)
        r = float(np.corrcoef(a, b)[0, 1]) if a.size > 1 and a.std() > 0 and b.std() > 0 else None
        fa, fb = ref.rate(name), low.rate(name)
        rows.append({"population": name, "neurons": int(a.size), "float_hz": fa, "fpga_hz": fb,
                     "rel_rate_error": (fb - fa) / fa if fa > 0 else (0.0 if fb == 0 else None), "count_r": r,
                     "within_1_step_fraction": coincident(ref, low, name)})
    return rows


@dataclass(frozen=True)
class FpgaAgreement(Pass):
    """Per population: float model vs fpga kernel over a short run (``-O agreement_steps``)."""

    name = "fpga-agreement"
    requires = ("mapped",)
    provides = ()
    uses_analyses = True

    steps: int | None = None          # None: default_steps; 0: not run

    def run(self, net: Network, target, analyses=None):
        from snncc.plugin import simulate
        model = analyses.get(MODEL_KEY, lambda: None, ()) if analyses is not None else None
        if analyses is not None:
            analyses.release(MODEL_KEY)
        if model is None or self.steps == 0:
            return net, Report(self.name, notes=["float-vs-fpga agreement not measured"
                                                 + (" (-O agreement_steps=0)" if self.steps == 0 else "")])
        steps = default_steps(model) if self.steps is None else int(self.steps)
        from .kernel import FpgaKernel
        ref = simulate(model, steps=steps, record_states=False)
        low = simulate(net, steps=steps, kernel=FpgaKernel(net), record_states=False)
        names = [p.name for p in model.populations if p.name in low.sizes]
        rows = spike_count_rows(ref, low, names)
        errs = [abs(r["rel_rate_error"]) for r in rows if r["rel_rate_error"] is not None]
        near = [r["within_1_step_fraction"] for r in rows if r["within_1_step_fraction"] is not None]
        rs = [r["count_r"] for r in rows if r["count_r"] is not None]
        summary = {"steps": steps, "decay": net.attrs.get("fpga", {}).get("decay", "shift"),
                   "spikes_float": int(sum(ref.counts(n).sum() for n in names)),
                   "spikes_fpga": int(sum(low.counts(n).sum() for n in names)),
                   "max_rel_rate_error": max(errs) if errs else None, "min_count_r": min(rs) if rs else None,
                   "min_within_1_step_fraction": min(near) if near else None}
        note = (f"float model vs fpga kernel over the first {steps} steps ({steps * model.dt:g} ms, the model's "
                "own input): table 'agreement'" + ("" if summary["spikes_float"] or summary["spikes_fpga"]
                                                   else "; no spikes on either side (input ports get theirs "
                                                        "at run time)"))
        return net, Report(self.name, summary=summary, tables={"agreement": rows}, notes=[note])
