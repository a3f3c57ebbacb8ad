"""The loihi target: snncc's reference simulator with the ``loihi`` kernel against Lava fixed_pt.

The same lowered network (identical integers) runs in both; their rasters are compared
bit for bit, and the times are reported as ratios. Lava's time is split into start-up
(compiling the process graph and starting one OS process per Lava process), stepping,
and reading the RingBuffer sinks back; the kernel's time is a whole ``simulate`` call
(best of several; the first call's numba compilation is cached on disk).

Networks: CUBA (snncc.models.cuba, dt 0.1 ms) with 1000 neurons (500 with ``quick``),
and the synfire ring of examples/synfire.yaml (DelayDense, 17-step delays).

    python -m bench.bench_loihi [--quick]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, best_of

DESCRIPTION = ("The same loihi-lowered network in snncc's reference simulator (`loihi` kernel) and in "
               "Lava 0.10's fixed_pt simulator (`Loihi2SimCfg`), which it matches bit for bit. Lava's "
               "wall time includes its start-up; per-step figures use stepping alone.")
OPTIONS = {"tau_syn": "mean", "refractory": "ignore"}


def _lava(net, steps, extra_args=(), timeout: float | None = None):
    """(raster, total wall s, timing dict from the child, emit figures) of one Lava run.

    ``timeout``: seconds before the run is stopped (an SnnccError); default the runner's
    own estimate plus 10 minutes.
    """
    from snncc_loihi.runner import default_timeout, run_module
    from snncc_loihi.target import MODULE, PLAN, LoihiTarget, raster_from_spikes
    with tempfile.TemporaryDirectory(prefix="bench-loihi-") as tmp:
        out = Path(tmp)
        emitted = LoihiTarget().emit(net, out, {})
        t0 = time.perf_counter()
        if timeout is None:
            timeout = default_timeout(steps, emitted["lava_processes"]) + 600.0
        s, i, log = run_module(out / MODULE, out / PLAN, steps, timeout, extra_args=extra_args)
        total = time.perf_counter() - t0
    timing = {}
    for line in log.splitlines():
        if line.startswith("lava-timing: "):
            timing = json.loads(line[len("lava-timing: "):])
    return raster_from_spikes(net, steps, s, i, "lava:fixed_pt"), total, timing, emitted


def run(quick: bool) -> dict:
    import importlib.util
    title = "loihi: reference simulator (loihi kernel) vs Lava fixed_pt"
    if importlib.util.find_spec("snncc_loihi") is None or importlib.util.find_spec("lava") is None:
        print("  skipped: snncc-loihi / lava-nc not installed")
        return {"title": title, "rows": [], "notes": ["skipped: pip install -e backends/loihi (Python 3.10)"]}
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc.models import cuba
    from snncc.refsim import simulate
    from snncc.verify import compare

    n = 500 if quick else 1000
    cases = [(f"CUBA {n}", cuba(n=n, duration=100.0 if quick else 200.0, split=True)),
             ("synfire", load_model(ROOT / "examples" / "synfire.yaml").with_(steps=500 if quick else 1000))]
    rows, notes = [], []
    print(f"  {'network':<12} {'steps':>6} {'kernel s':>9} {'lava s':>8} {'startup':>8} {'step ms':>8} "
          f"{'readback':>8} {'ratio':>7} {'exact':>6}")
    for name, net in cases:
        low = lower(net, "loihi", OPTIONS).network
        steps = low.steps
        simulate(low, steps=10)                                   # numba compile (cached)
        t_k, ref = best_of(lambda: simulate(low), 2 if quick else 3)
        lava, total, tm, emitted = _lava(low, steps)
        exact = compare(ref, lava).equal
        step_ms = 1000.0 * tm.get("run_s", float("nan")) / max(steps - 1, 1)
        row = {"network": name, "neurons": low.n_neurons, "synapses": low.n_synapses, "steps": steps,
               "lava_processes": emitted["lava_processes"], "spikes": ref.n_spikes,
               "kernel_s": t_k, "kernel_ms_per_step": 1000.0 * t_k / steps,
               "lava_total_s": total, "lava_startup_s": tm.get("startup_s"),
               "lava_ms_per_step": step_ms, "lava_readback_s": tm.get("readback_s"),
               "ratio_total": total / t_k, "ratio_per_step": step_ms / (1000.0 * t_k / steps),
               "bit_exact": exact}
        rows.append(row)
        print(f"  {name:<12} {steps:>6} {t_k:9.3f} {total:8.2f} {tm.get('startup_s', 0):8.2f} "
              f"{step_ms:8.3f} {tm.get('readback_s', 0):8.3f} {total / t_k:7.0f} {str(exact):>6}", flush=True)
        if not exact:
            notes.append(f"{name}: Lava and the loihi kernel DIFFER: {compare(ref, lava).describe()}")
    if not quick:
        # What reading the raster back through Lava's runtime (RingBuffer.data.get, as a Lava
        # user would) costs, on a shorter run of the first network.
        name, net = cases[0]
        low = lower(net, "loihi", OPTIONS).network
        steps = 300
        t_k, ref = best_of(lambda: simulate(low, steps=steps), 3)
        lava, total, tm, emitted = _lava(low, steps, ("--var-readback",))
        rows.append({"network": f"{name}, Var.get readback", "neurons": low.n_neurons,
                     "synapses": low.n_synapses, "steps": steps, "lava_processes": emitted["lava_processes"],
                     "spikes": ref.n_spikes, "kernel_s": t_k, "kernel_ms_per_step": 1000.0 * t_k / steps,
                     "lava_total_s": total, "lava_startup_s": tm.get("startup_s"),
                     "lava_ms_per_step": 1000.0 * tm.get("run_s", float("nan")) / (steps - 1),
                     "lava_readback_s": tm.get("readback_s"), "ratio_total": total / t_k,
                     "ratio_per_step": tm.get("run_s", float("nan")) / (steps - 1) / (t_k / steps),
                     "bit_exact": compare(ref, lava).equal})
        print(f"  {name + ' Var.get':<12} {steps:>6} {t_k:9.3f} {total:8.2f} {tm.get('startup_s', 0):8.2f} "
              f"{'':>8} {tm.get('readback_s', 0):8.3f} {total / t_k:7.0f} {str(rows[-1]['bit_exact']):>6}")
        notes.append("The 'Var.get readback' row reads Lava's RingBuffer sinks through the runtime "
                     "(one message per element); the other rows use snncc's sinks, which save their "
                     "buffer to a file on the last step.")
    notes.append("ratio_total = Lava wall time (child process, start-up included) / kernel time; "
                 "ratio_per_step compares stepping alone.")
    return {"title": title, "rows": rows,
            "notes": notes, "versions": ["lava-nc"]}


if __name__ == "__main__":
    run("--quick" in sys.argv)
