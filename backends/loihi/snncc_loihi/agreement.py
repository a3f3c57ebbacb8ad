"""Float model against the ``loihi`` kernel on a short run: what an approximation costs.

Where the lowering had to approximate (one current decay for two synaptic time
constants), the compile report shows the cost in spikes, not only in time constants:
the float reference simulator runs the step-stage network and the ``loihi`` kernel the
lowered one, for the first ``steps`` steps, and per population the report gets the mean
rates, their relative error, and the Pearson correlation over neurons of the spike
counts (how well the loihi kernel keeps which neurons fire more). Both runs are the
reference simulator's (no Lava), so this costs about two refsim runs of ``steps``.
"""
from __future__ import annotations

import numpy as np

#: model time the comparison runs by default (ms), the synapses x steps it may cost (a
#: big network runs fewer steps, at least MIN_STEPS), and the largest network it runs on
DEFAULT_MS = 500.0
WORK = 5_000_000_000
MIN_STEPS = 100
MAX_SYNAPSES = 20_000_000


def spike_count_agreement(ref, other) -> list[dict]:
    """Per population of two rasters over the same steps: rates (Hz), relative rate error
    and the correlation over neurons of the spike counts (None where either is constant)."""
    rows = []
    for name in ref.sizes:
        if name not in other.sizes:
            continue
        a, b = ref.counts(name).astype(np.float64), other.counts(name).astype(np.float64)
        r = None
        if a.size > 1 and a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
        ra, rb = ref.rate(name), other.rate(name)
        rows.append({"population": name, "neurons": int(a.size), "float_hz": ra, "loihi_hz": rb,
                     "rate_error": (rb - ra) / ra if ra > 0 else (0.0 if rb == 0 else None),
                     "count_r": r})
    return rows


def agreement(step_net, fixed_net, steps: int | None = None) -> tuple[list[dict], str]:
    """(rows, note) of the float-vs-loihi comparison over ``steps`` (default: 500 ms, at most
    the network's length and WORK / synapses steps; 0: not run)."""
    from snncc.plugin import simulate

    if steps is None:
        steps = min(step_net.steps, int(round(DEFAULT_MS / step_net.dt)),
                    max(MIN_STEPS, WORK // max(step_net.n_synapses, 1)))
    if steps <= 0:
        return [], "float-vs-loihi agreement not measured (-O agreement_steps=0)"
    if step_net.n_synapses > MAX_SYNAPSES:
        return [], (f"float-vs-loihi agreement not measured: {step_net.n_synapses} synapses is over the "
                    f"{MAX_SYNAPSES} a compile runs it for; measure it with snncc run MODEL (float) and "
                    "snncc run BUILD --refsim (loihi kernel)")
    ref = simulate(step_net, steps=steps, record_states=False)
    low = simulate(fixed_net, steps=steps, record_states=False)
    rows = spike_count_agreement(ref, low)
    worst = [r for r in rows if r["rate_error"] is not None]
    summary = ", ".join(f"{r['population']}: rate {r['float_hz']:.3g} -> {r['loihi_hz']:.3g} Hz"
                        + (f", count r {r['count_r']:.2f}" if r["count_r"] is not None else "")
                        for r in worst[:4]) + (" ..." if len(worst) > 4 else "")
    return rows, (f"float model vs loihi kernel over the first {steps} steps ({steps * step_net.dt:g} ms): "
                  f"{summary or 'no spikes'} (table 'agreement')")
