"""The spinnaker target: snncc's compile against sPyNNaker's own mapping and data generation.

Workloads (snncc.models, dt 0.1 ms): CUBA 4k (``cuba(4000, split=True)``), Brunel 12.5k
(``brunel(1.0, background="dc")``, IF_curr_delta, 15.6 M synapses) and the
Potjans-Diesmann microcircuit at 10 % (``potjans_diesmann(0.1)``, DC background).
For each, snncc's whole spinnaker pipeline (validate, discretise, delays, partition,
place, ring-buffer lowering and routing-entry count) plus writing the PyNN script and its
data is timed against what sPyNNaker 7.4.1 does with that script on a virtual SpiNN-5
board: building the PyNN objects, then ``sim.run`` - partitioning, placement, routing,
routing-table generation and data generation (a virtual board stops before loading).
sPyNNaker runs in a subprocess with a timeout per case; its Python start-up (imports,
``sim.setup``) is reported separately and left out of the ratio, as is building the
float-IR network (the model generator) on our side.

Routing entries: snncc's count for its own placement (snncc_spinnaker/routing.py: one
entry per source core per chip on its dimension-order multicast tree, default routes
free; ``merged`` as sPyNNaker merges per population) beside sPyNNaker's tables as its
MergedRoutingTableGenerator wrote them and after PACMAN's PairCompressor.

    python -m bench.bench_spinnaker [--quick]       # quick: CUBA 4k only
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

DESCRIPTION = (
    "snncc's spinnaker compile (every pass plus writing the PyNN script and its data) against sPyNNaker "
    "7.4.1 mapping and generating data for the same script on a virtual 48-chip board. `ratio` = sPyNNaker "
    "(PyNN build + mapping + data generation) / snncc compile. Cores: snncc's are neuron cores; "
    "sPyNNaker's `spynnaker_net_cores` are its network's cores (a neuron core and one or two synapse cores "
    "per slice at dt 0.1 ms, plus delay extensions), `spynnaker_cores` adds its system cores (a monitor on "
    "every chip, a packet gatherer). Routing entries: snncc's for its own placement (one per source core "
    "per chip off the default route; `merged` per population as sPyNNaker merges), sPyNNaker's as "
    "generated (already merged) and after its pair compressor.")

#: per case: (name, model call as text, factory)
CASES = {
    "cuba_4k": ("cuba(4000, split=True)", lambda m: m.cuba(4000, split=True)),
    "brunel_12.5k": ("brunel(1.0, background='dc')", lambda m: m.brunel(1.0, background="dc")),
    "microcircuit_10pct": ("potjans_diesmann(0.1)", lambda m: m.potjans_diesmann(0.1)),
}
QUICK = ("cuba_4k",)
TIMEOUT_S = {True: 600.0, False: 1200.0}


def timeout(quick: bool) -> float:
    """Seconds sPyNNaker may take per case (SNNCC_BENCH_SPINNAKER_TIMEOUT overrides, e.g. on a
    loaded machine where the wall clock runs long)."""
    return float(os.environ.get("SNNCC_BENCH_SPINNAKER_TIMEOUT", TIMEOUT_S[quick]))
SYSTEM = ("ExtraMonitorSupportMachineVertex", "DataSpeedUpPacketGatherMachineVertex")


def _snncc(net, outdir: Path) -> tuple[float, object, dict]:
    from snncc.compiler import lower
    from snncc_spinnaker.target import SpinnakerTarget

    t0, c0 = time.perf_counter(), time.process_time()
    res = lower(net, "spinnaker")
    SpinnakerTarget().emit(res.network, outdir, {"map": False})
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    return sec, cpu, res, {r.pass_name: round(r.seconds, 3) for r in res.reports}


def _one(name: str, quick: bool) -> tuple[dict, dict]:
    import snncc.models as models
    from snncc.errors import SnnccError
    from snncc_spinnaker.mapping import check_mapping
    from snncc_spinnaker.target import summarise

    call, make = CASES[name]
    t0 = time.perf_counter()
    net = make(models)
    gen = time.perf_counter() - t0
    row = {"case": name, "neurons": net.n_neurons, "synapses": net.n_synapses}
    with tempfile.TemporaryDirectory(prefix="bench-spinnaker-") as tmp:
        ours, ours_cpu, res, passes = _snncc(net, Path(tmp))
        fx = res.network
        del net
        routing = fx.attrs.get("routing", {})
        row.update({"snncc_compile_s": ours, "spynnaker_s": None, "ratio": None,
                    "snncc_cpu_s": ours_cpu, "spynnaker_cpu_s": None, "ratio_cpu": None,
                    "snncc_cores": fx.attrs["partition"]["cores"], "spynnaker_net_cores": None,
                    "spynnaker_cores": None, "snncc_chips": fx.attrs["placement"].get("chips"),
                    "spynnaker_chips": None,
                    "snncc_routing_entries": routing.get("routing_entries"),
                    "snncc_routing_entries_merged": routing.get("routing_entries_merged"),
                    "spynnaker_routing_entries": None, "spynnaker_routing_entries_compressed": None,
                    "note": ""})
        try:
            m = check_mapping(Path(tmp) / "pynn", timeout=timeout(quick))
        except SnnccError as e:
            row["note"] = f"sPyNNaker: {e.message}"
            m = None
    extra = {"case": name, "model": call, "model_generation_s": gen, **passes}
    if m is not None:
        sec = m["seconds"]
        theirs = sec["build"] + sec["map_and_generate"]
        s = summarise(fx, m)
        kinds = m["cores_by_vertex_type"]
        cpu = m.get("cpu_seconds", {})
        theirs_cpu = cpu.get("build", 0.0) + cpu.get("map_and_generate", 0.0) if cpu else None
        row.update({"spynnaker_s": theirs, "ratio": theirs / ours, "spynnaker_cpu_s": theirs_cpu,
                    "ratio_cpu": theirs_cpu / ours_cpu if theirs_cpu and ours_cpu > 0 else None,
                    "spynnaker_net_cores": sum(v for k, v in kinds.items() if k not in SYSTEM),
                    "spynnaker_cores": m["cores"], "spynnaker_chips": m["chips"],
                    "spynnaker_routing_entries": s["spynnaker_routing_entries"],
                    "spynnaker_routing_entries_compressed": s["spynnaker_routing_entries_compressed"]})
        if not s["ring_buffer_shifts_agree"]:
            row["note"] = f"ring-buffer shifts differ: {s['ring_buffer_shift_mismatches']}"
        extra.update({"spynnaker_pynn_build_s": sec["build"],
                      "spynnaker_map_generate_s": sec["map_and_generate"],
                      "spynnaker_startup_s": m["subprocess_seconds"] - theirs,
                      "spynnaker_subprocess_cpu_s": m.get("subprocess_cpu_seconds"),
                      "spynnaker_cores_by_vertex": ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())),
                      "snncc_max_routing_entries_per_chip": s["snncc_max_routing_entries_per_chip"],
                      "spynnaker_max_routing_entries_per_chip": s["spynnaker_max_routing_entries_per_chip"]})
    return row, extra


def run(quick: bool = False) -> dict:
    from snncc.compiler import lower
    from snncc.models import brunel, cuba
    # imports and numba caches, as sPyNNaker's start-up is left out on its side
    lower(cuba(n=200, p=0.05, split=True), "spinnaker")
    lower(brunel(0.02, background="dc"), "spinnaker")
    rows, details = [], []
    print(f"{'case':>20} {'synapses':>9} {'snncc s':>8} {'sPyNNaker s':>12} {'ratio':>7} "
          f"{'cpu ratio':>9} {'routes ours/merged':>19} {'theirs/compressed':>18}", flush=True)
    for name in (QUICK if quick else CASES):
        r, d = _one(name, quick)
        rows.append(r)
        details.append(d)
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        print(f"{name:>20} {r['synapses']:>9} {r['snncc_compile_s']:>8.2f} {fmt(r['spynnaker_s'], '12.2f')} "
              f"{fmt(r['ratio'], '7.1f')} {fmt(r['ratio_cpu'], '9.1f')} "
              f"{r['snncc_routing_entries']:>10}/{r['snncc_routing_entries_merged']:<8} "
              f"{fmt(r['spynnaker_routing_entries'], '>9')}/"
              f"{fmt(r['spynnaker_routing_entries_compressed'], '<8')}"
              f" {r['note']}", flush=True)
    return {"title": "spinnaker: snncc compile vs sPyNNaker mapping + data generation (virtual board)",
            "rows": rows, "tables": {"details (seconds per snncc pass, sPyNNaker phases)": details},
            "versions": ["sPyNNaker", "PyNN"],
            "notes": ["the full-scale microcircuit is not run here (sPyNNaker needs about an hour)",
                      f"sPyNNaker runs with a timeout of {timeout(quick):g} s per case; a case that times "
                      "out or fails keeps snncc's figures and says why in `note`",
                      "the script sorts each synapse list by (pre, post) before FromListConnector (inside "
                      "sPyNNaker's build time): sPyNNaker 7.4.1 overestimates row lengths of unsorted lists "
                      "and refuses the microcircuit otherwise",
                      "`*_cpu_s`: CPU seconds of the process (sPyNNaker: its subprocess, start-up excluded), "
                      "the fairer figure when the machine is shared; `ratio_cpu` = sPyNNaker / snncc CPU"]}


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
