"""The loihi target: Lava against the ``loihi`` kernel, fidelity to the float model, mapping time.

1. Lava vs kernel: the same lowered network (identical integers) runs in snncc's
   reference simulator (``loihi`` kernel) and in Lava fixed_pt; their rasters are
   compared bit for bit, and the times are reported as ratios. Lava's time is split into
   start-up (compiling the process graph and starting one OS process per Lava process),
   stepping, and reading the RingBuffer sinks back; the kernel's time is a whole
   ``simulate`` call (best of several; numba's compilation is cached on disk). Networks:
   CUBA (snncc.models.cuba, dt 0.1 ms, 5 ms refractory periods, tau_syn 5 / 10 ms) with
   1000 neurons (500 with ``quick``), and the synfire ring of examples/synfire.yaml with
   tau_refrac = 2 ms (LIFRefractory, DelayDense), both compiled with the default options.
2. Fidelity, before and after refractory periods and tau_syn=auto: examples/cuba.yaml's
   float model against its loihi lowering (per population: rates, rate error, Pearson r of
   the per-neuron spike counts) with ``-O tau_syn=mean -O refractory=ignore`` (what every
   loihi compile of CUBA needed before) and with the defaults; the digits classifier's
   accuracy on the loihi kernel with both.
3. Mapping: partition + place of Brunel 12.5k (15.6 M synapses) under the loihi limits,
   with the generic member-move budget (before) and loihi's own (limits.MOVE_BUDGET).
4. (not ``quick``; needs ~7 GiB: run under ``flock /tmp/snncc-bigmem.lock``) the full
   Potjans-Diesmann microcircuit compiled for reference, loihi and spinnaker side by side
   (bench_compile's worker: one subprocess per target, peak RSS per case).

    flock /tmp/snncc-bigmem.lock python -m bench --only loihi      [--quick]
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import ROOT, best_of

DESCRIPTION = ("First table: the same loihi-lowered network, compiled with the defaults (refractory periods "
               "with Lava's LIFRefractory, tau_syn=auto), in snncc's reference simulator (`loihi` kernel) and in "
               "Lava 0.10's fixed_pt simulator (`Loihi2SimCfg`), which it matches bit for bit. Lava's "
               "wall time includes its start-up; per-step figures use stepping alone. Then: fidelity to the "
               "float model before (`-O tau_syn=mean -O refractory=ignore`, which every loihi compile of CUBA "
               "needed) and after (the defaults) on examples/cuba.yaml and the digits classifier; partition + "
               "place of Brunel 12.5k under the loihi limits with the generic and the loihi member-move "
               "budget; and the full microcircuit compiled for reference, loihi and spinnaker side by side "
               "(one subprocess per target, bench_compile's worker).")
#: compiled with the defaults (refractory periods with LIFRefractory, tau_syn=auto)
OPTIONS: dict = {}
#: what every loihi compile of these networks needed before refractory periods were realised
BEFORE = {"tau_syn": "mean", "refractory": "ignore"}


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
    syn = load_model(ROOT / "examples" / "synfire.yaml").with_(steps=500 if quick else 1000)
    syn = syn.with_(populations=tuple(dataclasses.replace(p, params={**p.params, "tau_refrac": np.full(p.size, 2.0)})
                                      for p in syn.populations))
    cases = [(f"CUBA {n}", cuba(n=n, duration=100.0 if quick else 200.0, split=True)),
             ("synfire, tau_refrac 2 ms", syn)]
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
    tables = {}
    tables["fidelity: examples/cuba.yaml, float model vs loihi kernel (1000 ms)"] = _fidelity(quick)
    tables["fidelity: digits classifier accuracy on 540 held-out images"] = _digits(quick)
    tables["mapping: partition + place of Brunel 12.5k under the loihi limits"] = _mapping(quick)
    if not quick:
        tables["full microcircuit (77k neurons, 0.3 G synapses): compile per target"] = _microcircuit()
    notes.append("fidelity 'before' = -O tau_syn=mean -O refractory=ignore (every loihi compile of CUBA "
                 "needed them); 'after' = the defaults (refractory periods with LIFRefractory, one current "
                 "decay chosen by tau_syn=auto). count_r: Pearson r over neurons of the spike counts.")
    return {"title": title, "rows": rows, "tables": tables,
            "notes": notes, "versions": ["lava-nc", "sPyNNaker"]}


def _fidelity(quick: bool) -> list[dict]:
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc.refsim import simulate
    from snncc_loihi.agreement import spike_count_agreement
    net = load_model(ROOT / "examples" / "cuba.yaml")
    if quick:
        net = net.with_(steps=net.steps // 4)
    ref = simulate(net, record_states=False)
    rows = []
    for label, opts in (("before", BEFORE), ("after (default)", OPTIONS)):
        low = lower(net, "loihi", {**opts, "agreement_steps": 0})
        lrep = next(r for r in low.reports if r.pass_name == "loihi-lower")
        tau = {r["population"]: r["realised_ms"] for r in lrep.tables.get("tau_syn", [])}
        for r in spike_count_agreement(ref, simulate(low.network, record_states=False)):
            rows.append({"options": label, "population": r["population"], "float_hz": r["float_hz"],
                         "loihi_hz": r["loihi_hz"], "rate_error": r["rate_error"], "count_r": r["count_r"],
                         "tau_syn_realised_ms": tau.get(r["population"]),
                         "refrac_steps": int(low.network.populations[0].params["refrac"].max())})
            print(f"  cuba.yaml {label:<16} {r['population']:<4} {r['float_hz']:6.2f} -> {r['loihi_hz']:6.2f} Hz "
                  f"({r['rate_error']:+.1%}), count r {r['count_r']:.3f}", flush=True)
    return rows


def _digits(quick: bool) -> list[dict]:
    import importlib.util
    spec = importlib.util.spec_from_file_location("digits_example", ROOT / "examples" / "digits" / "digits.py")
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    from snncc.frontends import load_model
    _, _, xte, yte = digits.load_split()
    if quick:
        xte, yte = xte[:100], yte[:100]
    net = load_model(digits.NIR_FILE)
    ref = digits.predict(net, xte)
    rows = []
    for label, opts in (("before", BEFORE), ("after (default)", OPTIONS)):
        pred = digits.predict(net, xte, "loihi", options=opts)
        rows.append({"options": label, "images": len(yte), "float_accuracy": digits.accuracy(ref, yte),
                     "loihi_accuracy": digits.accuracy(pred, yte),
                     "same_answer_as_float": float(np.mean(pred == ref) * 100.0)})
        print(f"  digits {label:<16} loihi kernel {rows[-1]['loihi_accuracy']:.2f} % "
              f"(float {rows[-1]['float_accuracy']:.2f} %)", flush=True)
    return rows


def _mapping(quick: bool) -> list[dict]:
    from snncc.models import brunel
    from snncc.passes import Partition, Place
    from snncc.passes.discretise import discretise_network
    from snncc.passes.base import Analyses
    from snncc_loihi.limits import LIMITS

    class _T:
        name = "loihi"

        def __init__(self, limits):
            self.limits = limits

    net = discretise_network(brunel(0.5 if quick else 1.0, background="dc"))
    generic = dataclasses.replace(LIMITS, extra={k: v for k, v in LIMITS.extra.items() if k != "move_budget"})
    rows = []
    for label, lim in (("before (generic move budget)", generic), ("after (loihi limits)", LIMITS)):
        Partition().run(net.with_(projections=net.projections[:1]), _T(lim))    # numba warm-up
        analyses = Analyses()         # partition and place share one incoming table, as in a compile
        t0 = time.perf_counter()
        parted, rep = Partition().run(net, _T(lim), analyses=analyses)
        t1 = time.perf_counter()
        placed, prep = Place().run(parted, _T(lim), analyses=analyses)
        t2 = time.perf_counter()
        part, pl = parted.attrs["partition"], placed.attrs["placement"]
        rows.append({"partition": label, "neurons": net.n_neurons, "synapses": net.n_synapses,
                     "partition_s": t1 - t0, "place_s": t2 - t1, "together_s": t2 - t0,
                     "cores": part["cores"], "traffic_packets": part["traffic"],
                     "moved_neurons": rep.summary["moved_neurons"], "chips": pl["chips"], "hops": pl["hops"],
                     "load": round(os.getloadavg()[0], 2)})
        print(f"  Brunel {label:<30} partition {t1 - t0:6.2f} s, place {t2 - t1:5.2f} s, "
              f"{part['cores']} cores, traffic {part['traffic']}", flush=True)
    return rows


def _microcircuit() -> list[dict]:
    from .bench_compile import _case
    rows = []
    for target in ("reference", "loihi", "spinnaker"):
        c = _case("microcircuit 100%", target, timeout=900)
        row = {"target": target}
        if "error" in c:
            row["error"] = c["error"]
        else:
            row.update({"synapses": c["synapses"], "generate_s": c["generate_s"], "passes_s": c["lower_s"],
                        "emit_s": c["emit_s"], "compile_s": c["compile_s"], "total_s": c["total_s"],
                        "peak_rss_GiB": c["peak_rss_MiB"] / 1024.0, "image_MiB": c["image_MiB"],
                        "slowest_passes": ", ".join(f"{k} {v:.1f}" for k, v in sorted(
                            c["passes_s"].items(), key=lambda kv: -kv[1])[:3]),
                        "load": c["load_1min"]})
        rows.append(row)
        print(f"  microcircuit 100% {target:<10} " + (row.get("error") or
              f"compile {row['compile_s']:.1f} s, total {row['total_s']:.1f} s, peak {row['peak_rss_GiB']:.2f} GiB"),
              flush=True)
    return rows


if __name__ == "__main__":
    run("--quick" in sys.argv)
