"""The spinnaker target: snncc's compile against sPyNNaker's own mapping and data generation.

On the same network (CUBA with populations ``exc``/``inh``, snncc.models.cuba, dt 0.1 ms,
1 s), snncc's whole spinnaker pipeline (validate, discretise, delays, partition, place,
ring-buffer lowering) plus writing the PyNN script is timed against what sPyNNaker 7.4.1
does with that script on a virtual SpiNN-5 board: building the PyNN objects, then
``sim.run`` - partitioning, placement, routing, routing-table generation and data
generation (a virtual board stops before loading). sPyNNaker runs in a subprocess; its
Python start-up (imports, ``sim.setup``) is reported separately and left out of the ratio.

    python -m bench.bench_spinnaker [--quick]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

DESCRIPTION = ("snncc's spinnaker compile (every pass plus writing the PyNN script) against sPyNNaker 7.4.1 "
               "mapping and generating data for the same script on a virtual 48-chip board. "
               "`ratio` = sPyNNaker (PyNN build + mapping + data generation) / snncc compile.")


def _one(n: int, p: float) -> dict:
    from snncc.compiler import lower
    from snncc.models.cuba import cuba
    from snncc_spinnaker.mapping import check_mapping
    from snncc_spinnaker.target import SpinnakerTarget

    net = cuba(n=n, p=p, split=True)
    target = SpinnakerTarget()
    with tempfile.TemporaryDirectory(prefix="bench-spinnaker-") as tmp:
        t0 = time.perf_counter()
        res = lower(net, "spinnaker")
        target.emit(res.network, Path(tmp), {"map": False})
        ours = time.perf_counter() - t0
        m = check_mapping(Path(tmp) / "pynn", timeout=1200)
    sec = m["seconds"]
    theirs = sec["build"] + sec["map_and_generate"]
    return {"neurons": n, "synapses": net.n_synapses, "snncc_compile_s": ours,
            "spynnaker_pynn_build_s": sec["build"], "spynnaker_map_generate_s": sec["map_and_generate"],
            "spynnaker_startup_s": m["subprocess_seconds"] - theirs, "ratio": theirs / ours,
            "snncc_cores": res.network.attrs["partition"]["cores"], "spynnaker_cores": m["cores"]}


def run(quick: bool = False) -> dict:
    sizes = [(2000, 0.02)] if quick else [(4000, 0.02), (10000, 0.01)]
    from snncc.compiler import lower
    from snncc.models.cuba import cuba
    lower(cuba(n=200, p=0.05, split=True), "spinnaker")   # imports and numba caches, as sPyNNaker's start-up
    rows = []
    print(f"{'neurons':>8} {'synapses':>9} {'snncc s':>8} {'sPyNNaker s':>12} {'ratio':>7}")
    for n, p in sizes:
        r = _one(n, p)
        rows.append(r)
        print(f"{r['neurons']:>8} {r['synapses']:>9} {r['snncc_compile_s']:>8.2f} "
              f"{r['spynnaker_pynn_build_s'] + r['spynnaker_map_generate_s']:>12.2f} {r['ratio']:>7.1f}")
    return {"title": "spinnaker: snncc compile vs sPyNNaker mapping + data generation (virtual board)",
            "rows": rows, "versions": ["sPyNNaker", "PyNN"],
            "notes": ["sPyNNaker's core count includes its system cores (an extra monitor on every chip, "
                      "a packet gatherer) and separate synapse cores at dt 0.1 ms"]}


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
